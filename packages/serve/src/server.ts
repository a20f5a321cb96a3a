import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { adapterNames, AdapterModel, type AnyAdapterMethod, type MethodExtension, type SetupNode, type TransformerHost } from '@adapterkit/core';
import { loadTokenizer, type Tokenizer } from '@adapterkit/data';
import { maxSequenceLength, type ModelHost } from '@adapterkit/models';
import { Batcher } from './batcher';
import { ServeError } from './errors';
import { Mutex } from './lock';
import { ServeMetrics } from './metrics';
import type { MixedRow } from './mixed';
import { AdapterPool } from './pool';
import { parseAdapterField } from './setup';
import { handleGenerate } from './generate';

/** Options of {@link createAdapterServer}. */
export interface AdapterServerOptions {
  /** The base model with its adapter methods installed (adapters already on it stay untouched). */
  readonly model?: AdapterModel;
  /** Or a host, wrapped in an AdapterModel with `methods`. */
  readonly host?: TransformerHost;
  /** Adapter methods for `host`. */
  readonly methods?: ReadonlyArray<AnyAdapterMethod | MethodExtension>;
  /** Folder whose subfolders are the servable adapters. */
  readonly adaptersDir: string;
  /** Model folder to load the tokenizer from (for `/v1/classify` and text prompts), unless `tokenizer` is given. */
  readonly modelDir?: string;
  readonly tokenizer?: Tokenizer;
  /** Adapters loaded at once (LRU). Default 8. */
  readonly maxLoaded?: number;
  /** Bytes of adapter (+ head) parameters loaded at once (float32); the LRU also evicts to stay under it. Default: no limit. */
  readonly maxLoadedBytes?: number;
  /** Rows per forward batch. Default 32; 1 = one request at a time. */
  readonly maxBatch?: number;
  /** Batch collection window (ms). Default 5. */
  readonly batchWindowMs?: number;
  /** Combine different adapters in one forward (default true). */
  readonly mixedBatching?: boolean;
  /** Required as `Authorization: Bearer KEY` or `X-API-Key: KEY` on every route but `/health`. */
  readonly apiKey?: string;
  /** Request body limit in bytes (default 1 MiB): 413 beyond. */
  readonly maxBodyBytes?: number;
  /** Inputs (sequences) per request (default 64). */
  readonly maxInputs?: number;
  /** Tokens per sequence (default and upper bound: the model's position limit). */
  readonly maxSequenceLength?: number;
  /** A request that is not answered within this many ms gets 504 (default 30000). */
  readonly requestTimeoutMs?: number;
}

/** An embeddable adapter server: pass {@link handler} to `http.createServer`. */
export interface AdapterServer {
  /** The `node:http` request listener. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly model: AdapterModel;
  readonly pool: AdapterPool;
  readonly metrics: ServeMetrics;
  /** Whether {@link close} was called (new requests get 503). */
  readonly closing: boolean;
  /**
   * Graceful shutdown: refuse new requests (503), run what is queued, wait for running batches, then unload every
   * adapter the server loaded. Does not close your `http.Server`.
   */
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function sha(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new ServeError(413, 'BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`, 'body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ServeError(413, 'BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`, 'body');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage, limit: number): Promise<Json> {
  const body = await readBody(req, limit);
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ServeError(400, 'BAD_JSON', `request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, 'body');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ServeError(400, 'BAD_JSON', 'request body must be a JSON object', 'body');
  return doc as Json;
}

function intRows(value: unknown, field: string, o: { maxRows: number; maxLen: number; min: number; max: number; required: boolean }): number[][] | undefined {
  if (value === undefined && !o.required) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw new ServeError(400, 'BAD_FIELD', `'${field}' must be a non-empty array of token ids or of rows of token ids`, field);
  const rows = (Array.isArray(value[0]) ? value : [value]) as unknown[];
  if (rows.length > o.maxRows) throw new ServeError(400, 'TOO_MANY_INPUTS', `'${field}' has ${rows.length} rows; at most ${o.maxRows} per request`, field);
  return rows.map((row, i) => {
    const f = Array.isArray(value[0]) ? `${field}[${i}]` : field;
    if (!Array.isArray(row) || row.length === 0) throw new ServeError(400, 'BAD_FIELD', `'${f}' must be a non-empty array of integers`, f);
    if (row.length > o.maxLen) throw new ServeError(400, 'INPUT_TOO_LONG', `'${f}' has ${row.length} tokens; at most ${o.maxLen}`, f);
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < o.min || v > o.max) {
        throw new ServeError(400, 'BAD_FIELD', `'${f}[${j}]' must be an integer in [${o.min}, ${o.max}], got ${JSON.stringify(v)}`, `${f}[${j}]`);
      }
    });
    return row as number[];
  });
}

/**
 * Create an adapter server over one frozen base model: every subfolder of `adaptersDir` holding an adapter is
 * servable by its folder name, loaded lazily into an LRU of `maxLoaded`; requests arriving within `batchWindowMs`
 * run as one mixed-adapter forward (see {@link mixedForward}). Routes: `POST /v1/forward`, `POST /v1/classify`,
 * `POST /v1/generate` (decoder hosts, server-sent events), `GET /v1/adapters`, `POST /v1/adapters/{name}/load|unload`,
 * `GET /health`, `GET /metrics` (Prometheus text). Errors are JSON `{error: {code, message, field?}}`.
 *
 * @example
 * ```ts
 * const server = createAdapterServer({ model, adaptersDir: 'adapters', modelDir: 'models/bert' });
 * http.createServer(server.handler).listen(8080, '127.0.0.1');
 * ```
 */
export function createAdapterServer(options: AdapterServerOptions): AdapterServer {
  let model = options.model;
  if (!model) {
    if (!options.host) throw new ServeError(500, 'BAD_OPTION', 'createAdapterServer needs model or host');
    model = new AdapterModel(options.host, { methods: options.methods ?? [] });
  }
  const m = model;
  const config = (m.host as ModelHost).config;
  const hostLimit = config?.maxPositionEmbeddings !== undefined ? maxSequenceLength(config) : Number.MAX_SAFE_INTEGER;
  const maxLen = Math.min(options.maxSequenceLength ?? hostLimit, hostLimit);
  const vocab = config?.vocabSize ?? Number.MAX_SAFE_INTEGER;
  const maxInputs = options.maxInputs ?? 64;
  const maxBody = options.maxBodyBytes ?? 1 << 20;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const metrics = new ServeMetrics();
  const lock = new Mutex();
  const pool = new AdapterPool(m, options.adaptersDir, options.maxLoaded ?? 8, metrics, options.maxLoadedBytes);
  const lmLogits = (m.host as { info?: { hasLmHead?: boolean } }).info?.hasLmHead === true;
  const batcher = new Batcher(m, pool, lock, metrics, {
    maxBatch: options.maxBatch ?? 32,
    batchWindowMs: options.batchWindowMs ?? 5,
    mixed: options.mixedBatching ?? true,
    lmLogits,
  });
  const keyDigest = options.apiKey !== undefined ? sha(options.apiKey) : undefined;
  let tokenizer: Promise<Tokenizer> | undefined = options.tokenizer ? Promise.resolve(options.tokenizer) : undefined;
  const getTokenizer = (field: string): Promise<Tokenizer> => {
    if (!tokenizer) {
      if (!options.modelDir) return Promise.reject(new ServeError(501, 'NO_TOKENIZER', `'${field}' is text, but the server has no tokenizer (pass modelDir or tokenizer)`, field));
      tokenizer = loadTokenizer(options.modelDir).catch((err: unknown) => {
        tokenizer = undefined;
        throw new ServeError(501, 'NO_TOKENIZER', `'${field}' is text, but the model folder has no usable tokenizer: ${err instanceof Error ? err.message : String(err)}`, field);
      });
    }
    return tokenizer;
  };
  let closing = false;
  let inFlight = 0;

  /** The adapters a setup names must all be servable (404 naming the field otherwise). */
  const checkKnown = (setup: SetupNode | null, field: string): void => {
    for (const n of setup ? adapterNames(setup) : []) {
      if (!pool.isServable(n)) throw new ServeError(404, 'UNKNOWN_ADAPTER', `'${field}': no adapter named '${n}' in the adapters folder`, field);
    }
  };

  const withTimeout = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctl.abort();
        reject(new ServeError(504, 'TIMEOUT', `request not answered within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([work(ctl.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const forward = async (body: Json): Promise<unknown> => {
    if (!('adapter' in body)) throw new ServeError(400, 'MISSING_FIELD', "'adapter' is required (an adapter name, 'Stack(a, b)', or null for the base model)", 'adapter');
    const setup = parseAdapterField(body['adapter']);
    const ids = intRows(body['input_ids'], 'input_ids', { maxRows: maxInputs, maxLen, min: 0, max: vocab - 1, required: true })!;
    const mask = intRows(body['attention_mask'], 'attention_mask', { maxRows: maxInputs, maxLen, min: 0, max: 1, required: false });
    const types = intRows(body['token_type_ids'], 'token_type_ids', { maxRows: maxInputs, maxLen, min: 0, max: Math.max(0, (config?.typeVocabSize ?? 1) - 1), required: false });
    for (const [name, other] of [['attention_mask', mask], ['token_type_ids', types]] as const) {
      if (!other) continue;
      if (other.length !== ids.length) throw new ServeError(400, 'SHAPE_MISMATCH', `'${name}' has ${other.length} rows, input_ids ${ids.length}`, name);
      other.forEach((r, i) => {
        if (r.length !== ids[i]!.length) throw new ServeError(400, 'SHAPE_MISMATCH', `'${name}[${i}]' has ${r.length} entries, input_ids[${i}] ${ids[i]!.length}`, `${name}[${i}]`);
      });
    }
    checkKnown(setup, 'adapter');
    const rows: MixedRow[] = ids.map((r, i) => ({ setup, inputIds: r, ...(mask ? { attentionMask: mask[i]! } : {}), ...(types ? { tokenTypeIds: types[i]! } : {}) }));
    const results = await withTimeout((signal) => batcher.submit(setup, rows, signal));
    return {
      adapter: body['adapter'],
      last_hidden_state: results.map((r) => r.lastHiddenState),
      ...(results[0]!.poolerOutput ? { pooler_output: results.map((r) => r.poolerOutput) } : {}),
      ...(results[0]!.logits ? { logits: results.map((r) => r.logits) } : {}),
    };
  };

  const classify = async (body: Json): Promise<unknown> => {
    if (!('adapter' in body)) throw new ServeError(400, 'MISSING_FIELD', "'adapter' is required", 'adapter');
    const setup = parseAdapterField(body['adapter']);
    if (setup === null) throw new ServeError(400, 'NO_HEAD', "'adapter': classification needs an adapter saved with a classification head, not null", 'adapter');
    const inputs = body['inputs'];
    if (!Array.isArray(inputs) || inputs.length === 0) throw new ServeError(400, 'BAD_FIELD', "'inputs' must be a non-empty array of texts", 'inputs');
    if (inputs.length > maxInputs) throw new ServeError(400, 'TOO_MANY_INPUTS', `'inputs' has ${inputs.length} texts; at most ${maxInputs} per request`, 'inputs');
    inputs.forEach((t, i) => {
      if (typeof t !== 'string') throw new ServeError(400, 'BAD_FIELD', `'inputs[${i}]' must be a string`, `inputs[${i}]`);
      if (t.length > maxLen * 64) throw new ServeError(400, 'INPUT_TOO_LONG', `'inputs[${i}]' has ${t.length} characters`, `inputs[${i}]`);
    });
    checkKnown(setup, 'adapter');
    const last = adapterNames(setup).at(-1)!;
    if (!pool.hasHead(last)) throw new ServeError(400, 'NO_HEAD', `'adapter': adapter '${last}' was not saved with a prediction head`, 'adapter');
    const tok = await getTokenizer('inputs');
    const enc = (inputs as string[]).map((t) => tok.encode(t, null, { maxLength: maxLen, truncation: true }));
    const rows: MixedRow[] = enc.map((e) => ({ setup, inputIds: e.ids, tokenTypeIds: e.tokenTypeIds, outputs: 'logits' }));
    const results = await withTimeout((signal) => batcher.submit(setup, rows, signal));
    const head = results[0]!.headType;
    if (head !== 'classification' && head !== 'multilabel_classification') {
      throw new ServeError(400, 'NO_HEAD', `'adapter': the head of '${last}' is a ${head ?? 'missing'} head, not a classification head`, 'adapter');
    }
    const labelsOf = results[0]!.labels ?? [];
    return {
      adapter: body['adapter'],
      results: results.map((r) => {
        const z = r.logits as number[];
        const probs = head === 'multilabel_classification' ? z.map((v) => 1 / (1 + Math.exp(-v))) : softmax(z);
        const best = probs.reduce((b, v, i) => (v > probs[b]! ? i : b), 0);
        return { label: labelsOf[best] ?? `LABEL_${best}`, score: probs[best], probabilities: Object.fromEntries(probs.map((p, i) => [labelsOf[i] ?? `LABEL_${i}`, p])) };
      }),
    };
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!keyDigest) return true;
    const auth = req.headers['authorization'];
    const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : req.headers['x-api-key'];
    if (typeof given !== 'string') return false;
    return timingSafeEqual(sha(given), keyDigest);
  };

  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<[string, number]> => {
    const method = req.method ?? 'GET';
    if (path === '/health') {
      if (method !== 'GET') throw new ServeError(405, 'METHOD_NOT_ALLOWED', 'use GET /health');
      send(res, closing ? 503 : 200, { status: closing ? 'shutting_down' : 'ok', loaded: pool.loaded().length });
      return ['/health', closing ? 503 : 200];
    }
    if (!authorized(req)) throw new ServeError(401, 'UNAUTHORIZED', 'missing or wrong API key (send Authorization: Bearer KEY)', 'authorization');
    if (closing) throw new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down');
    const post = async (name: string, fn: (body: Json) => Promise<unknown>): Promise<[string, number]> => {
      if (method !== 'POST') throw new ServeError(405, 'METHOD_NOT_ALLOWED', `use POST ${name}`);
      const body = await readJson(req, maxBody);
      send(res, 200, await fn(body));
      return [name, 200];
    };
    if (path === '/metrics' && method === 'GET') {
      const text = metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return ['/metrics', 200];
    }
    if (path === '/v1/forward') return post(path, forward);
    if (path === '/v1/classify') return post(path, classify);
    if (path === '/v1/generate') {
      if (method !== 'POST') throw new ServeError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/generate');
      const body = await readJson(req, maxBody);
      const setup = 'adapter' in body ? parseAdapterField(body['adapter']) : null;
      checkKnown(setup, 'adapter');
      await handleGenerate({ model: m, pool, lock, body, setup, res, maxLen, vocab, tokenizer: () => getTokenizer('prompt'), timeoutMs });
      return [path, res.statusCode];
    }
    if (path === '/v1/adapters' && method === 'GET') {
      send(res, 200, { max_loaded: pool.maxLoaded, adapters: pool.list() });
      return [path, 200];
    }
    const act = /^\/v1\/adapters\/([^/]+)\/(load|unload)$/.exec(path);
    if (act) {
      if (method !== 'POST') throw new ServeError(405, 'METHOD_NOT_ALLOWED', `use POST ${path}`);
      const name = decodeURIComponent(act[1]!);
      if (!pool.isServable(name)) throw new ServeError(404, 'UNKNOWN_ADAPTER', `no adapter named '${name}' in the adapters folder`, 'name');
      const done = await lock.run(async () => {
        if (act[2] === 'load') {
          await pool.ensure(name, 'name', true);
          return true;
        }
        return pool.unload(name);
      });
      send(res, 200, { name, action: act[2], changed: done, loaded: pool.isLoaded(name) });
      return ['/v1/adapters/{name}/' + act[2], 200];
    }
    throw new ServeError(404, 'NOT_FOUND', `no route ${method} ${path}`);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0]!;
    inFlight++;
    route(req, res, path)
      .then(([name, status]) => metrics.request(name, status, (performance.now() - t0) / 1000))
      .catch((err: unknown) => {
        const e = err instanceof ServeError ? err : new ServeError(500, 'INTERNAL', err instanceof Error ? err.message : String(err));
        if (e.status === 413) res.setHeader('connection', 'close');
        send(res, e.status, e.toJSON());
        metrics.request(KNOWN_ROUTES.has(path) ? path : 'other', e.status, (performance.now() - t0) / 1000);
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) for (const w of drained.splice(0)) w();
      });
  };
  const drained: Array<() => void> = [];

  return {
    handler,
    model: m,
    pool,
    metrics,
    get closing() {
      return closing;
    },
    async close() {
      closing = true;
      await batcher.idle();
      if (inFlight > 0) await new Promise<void>((resolve) => drained.push(resolve));
      await lock.run(() => pool.clear());
    },
  };
}

const KNOWN_ROUTES = new Set(['/health', '/metrics', '/v1/forward', '/v1/classify', '/v1/generate', '/v1/adapters']);

function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
