/**
 * `@adapterkit/serve`: serve one frozen base model with many adapters over HTTP. Adapters load lazily from a folder
 * into an LRU; requests that arrive together run as one forward with per-row adapter routing (core's BatchSplit over
 * rows grouped by adapter). Embed {@link createAdapterServer}'s handler in any `node:http` server, or run
 * `adapterkit serve`.
 */
export { createAdapterServer, type AdapterServer, type AdapterServerOptions } from './server';
export { mixedForward, lastAdapter, batchSignature, type MixedRow, type MixedRowResult, type MixedForwardOptions } from './mixed';
export { AdapterPool, HEAD_CONFIG_FILE, type AdapterListing } from './pool';
export { Batcher, type BatcherOptions } from './batcher';
export { ServeMetrics } from './metrics';
export { ServeError } from './errors';
export { parseAdapterField } from './setup';
export { MAX_NEW_TOKENS } from './generate';
