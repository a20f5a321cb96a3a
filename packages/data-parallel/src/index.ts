/**
 * `@adapterkit/data-parallel`: data-parallel training across CPU cores. Worker threads each hold a replica of the
 * model on a backend instance of their own and compute the gradient of their shard of every batch; the gradients
 * meet in shared memory (`SharedArrayBuffer`), weighted by each shard's label items, and the update is applied once
 * to the main model and copied into every replica before the next step. An alternative to wasm's own threads;
 * `pnpm bench --data-parallel` measures both. Node only.
 *
 * ```ts
 * import { trainDataParallel } from '@adapterkit/data-parallel';
 * // replica.js: export async function createReplica(opts) { …build the same model, adapter and head…; return model }
 * await trainDataParallel(model, { workers: 2, replica: { module: '/abs/path/replica.js', options: {...} },
 *   adapter: 'sst2', trainData, batchSize: 16, epochs: 3 });
 * ```
 *
 * @packageDocumentation
 */
export { DataParallelPool, type DataParallelOptions, type ReplicaSpec, type GradientOptions, type ShardedGradients } from './pool';
export { trainDataParallel, type DataParallelTrainOptions, type DataParallelTrainResult } from './train';
export { DataParallelError } from './errors';
export { shardRanges, weightedMean } from './shards';
export { shardSeed } from './protocol';
export type { ReplicaFactory } from './replica';
