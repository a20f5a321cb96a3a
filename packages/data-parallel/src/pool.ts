import * as tf from '@tensorflow/tfjs-core';
import { isBackendName } from '@adapterkit/backends';
import type { AdapterModel } from '@adapterkit/core';
import { collectTrainable, resolveScoring, type GradientSource, type LabelKind, type TrainableParam, type TrainExample } from '@adapterkit/training';
import { DataParallelError } from './errors';
import { shardSeed, type FromWorker, type ParamLayout, type ToWorker, type TrainingSetup, type WorkerInit } from './protocol';
import { applyTrainingSetup, frozenFingerprint, layoutOf, replicaDifference } from './replica';
import { shardRanges, weightedMean } from './shards';

/** The module that builds a model replica in each worker (see {@link ReplicaFactory}). */
export interface ReplicaSpec {
  /**
   * An ES module a worker thread can import: an absolute file path, a `file:` URL or a `URL`. (A relative path is
   * resolved against the current directory.) Under the TypeScript sources (tests, `pnpm bench`) it may be a `.ts`
   * file.
   */
  readonly module: string | URL;
  /** Name of the factory export, default `createReplica`. */
  readonly export?: string;
  /** Argument of the factory, structured-cloned into each worker (no functions). */
  readonly options?: unknown;
}

/** Options of {@link DataParallelPool.start}. */
export interface DataParallelOptions {
  /** Worker threads, each with its own backend instance and model replica (≥ 1). */
  readonly workers: number;
  readonly replica: ReplicaSpec;
  /** Backend of every worker (an `@adapterkit/backends` name), default `wasm`. */
  readonly backend?: string;
  /** CPU threads of each worker's backend, default 1 (workers × threads should not exceed the cores). */
  readonly threadsPerWorker?: number;
  /**
   * What trains, as `train()`'s `mode`: `adapter` (default; needs `adapter`), `full` or `heads`. Applied to the main
   * model and to every replica the same way.
   */
  readonly mode?: 'adapter' | 'full' | 'heads';
  /** The adapter(s) trained in `adapter` mode: one name, or several trained as a Stack. */
  readonly adapter?: string | readonly string[];
  /** Head that computes the loss (default: the model's one active head). */
  readonly head?: string;
  /** Label layout (default: the head's). */
  readonly labelKind?: LabelKind;
  /** Padding id (default: the host config's `pad_token_id`, else 0). */
  readonly padTokenId?: number;
}

/** Options of {@link DataParallelPool.gradients}. */
export interface GradientOptions {
  /** Dropout during the forward (default true). */
  readonly training?: boolean;
  /** Seed and step number from which each worker's dropout stream is derived (`shardSeed`). Default 42 and 0. */
  readonly seed?: number;
  readonly step?: number;
  /**
   * Micro-batch `microBatch` of `microBatches` of the step (gradient accumulation; default 0 of 1): the dropout
   * streams are those of step `step · microBatches + microBatch`, so every micro-batch draws its own.
   */
  readonly microBatch?: number;
  readonly microBatches?: number;
}

/** What {@link DataParallelPool.gradients} returns; the tensors belong to the caller. */
export interface ShardedGradients {
  /** Mean loss over the whole batch: the shard means weighted by their label items. */
  readonly loss: number;
  /** Label items of the batch (examples, or labelled tokens for tagging / LM heads). */
  readonly weight: number;
  /** Gradient of the mean loss per trainable parameter, in {@link DataParallelPool.params} order; undefined where no shard had one. */
  readonly grads: ReadonlyArray<tf.Tensor | undefined>;
  /** Examples per shard, in worker order (workers beyond the batch size get none). */
  readonly shardSizes: readonly number[];
  /** Tokens of the batch (padding excluded). */
  readonly numTokens: number;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Minimal view of `node:worker_threads`' Worker used here. */
interface NodeWorker {
  postMessage(m: ToWorker): void;
  on(event: 'message', f: (m: FromWorker) => void): void;
  on(event: 'error', f: (err: Error) => void): void;
  on(event: 'exit', f: (code: number) => void): void;
  terminate(): Promise<number>;
}

function positiveInt(value: number | undefined, name: string, dflt: number): number {
  const x = value ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new DataParallelError('BAD_OPTIONS', `${name} must be a positive integer, got ${x}`);
  return x;
}

/** The worker entry next to this module: `worker.ts` through tsx under the sources, else the built `worker.js`. */
function workerEntry(): { url: URL; execArgv?: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { url: new URL('./worker-source.mjs', here), execArgv: ['--conditions=source'] };
  return { url: new URL('./worker.js', here) };
}

async function moduleUrl(module: string | URL): Promise<string> {
  if (module instanceof URL) return module.href;
  if (/^(file|data):/.test(module)) return module;
  const { pathToFileURL } = await import('node:url');
  const { resolve } = await import('node:path');
  return pathToFileURL(resolve(module)).href;
}

/**
 * A pool of worker threads that compute the gradient of one batch together: each worker holds a replica of the
 * model on a backend instance of its own, computes the gradient of its shard's mean loss, and writes it into shared
 * memory (`SharedArrayBuffer`); the pool combines the shards weighted by their label items, which is the gradient
 * of the whole batch's mean loss — also for uneven shards and for token-level losses. The main model is the
 * master copy: before every step its trainable values are written to shared memory and every replica copies them,
 * so an update applied once to the main model (by the caller, e.g. AdamW) reaches all replicas.
 *
 * Node only (`worker_threads`). Close the pool with {@link close} (also on errors).
 *
 * @example
 * const pool = await DataParallelPool.start(model, { workers: 2, adapter: 'task', replica: { module: '/abs/replica.js' } });
 * try { const { loss, grads } = await pool.gradients(examples); … tf.dispose(grads) } finally { await pool.close() }
 */
export class DataParallelPool implements GradientSource {
  /** The main model's trainable parameters, in the order of {@link ShardedGradients.grads}. */
  readonly params: readonly TrainableParam[];
  /** Keys of {@link params}: what `train()` checks a `gradientSource` against. */
  readonly paramKeys: readonly string[];
  /** Each worker's backend as `describeBackend` prints it, e.g. `wasm (@tensorflow/tfjs-backend-wasm 4.22.0, 1 thread)`. */
  readonly backends: readonly string[];
  private readonly pending: Array<Pending | undefined>;
  private failure: Error | undefined;
  private closed = false;
  private nextId = 0;

  private constructor(
    private readonly workers: readonly NodeWorker[],
    params: readonly TrainableParam[],
    private readonly layout: ParamLayout,
    private readonly buffers: WorkerInit['buffers'],
    backends: readonly string[],
    pending: Array<Pending | undefined>,
  ) {
    this.params = params;
    this.paramKeys = params.map((p) => p.key);
    this.backends = backends;
    this.pending = pending;
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Set the main model's trainability (`mode`, `adapter`), start the workers, build and check their replicas.
   * Options are validated before any worker starts.
   *
   * @throws DataParallelError `BAD_OPTIONS`, `NOT_NODE`, `REPLICA_MISMATCH`, `WORKER_FAILED`
   */
  static async start(model: AdapterModel, options: DataParallelOptions): Promise<DataParallelPool> {
    const workers = positiveInt(options.workers, 'workers', 1);
    const threads = positiveInt(options.threadsPerWorker, 'threadsPerWorker', 1);
    const backend = options.backend ?? 'wasm';
    if (!isBackendName(backend)) throw new DataParallelError('BAD_OPTIONS', `backend '${backend}' is not a backend name of @adapterkit/backends`);
    const mode = options.mode ?? 'adapter';
    if (!['adapter', 'full', 'heads'].includes(mode)) throw new DataParallelError('BAD_OPTIONS', `mode must be adapter, full or heads, got '${String(mode)}'`);
    const adapter = options.adapter === undefined ? undefined : typeof options.adapter === 'string' ? [options.adapter] : [...options.adapter];
    if (mode === 'adapter' && (!adapter || adapter.length === 0)) throw new DataParallelError('BAD_OPTIONS', "mode 'adapter' needs options.adapter (the adapter name(s) to train)");
    if (!options.replica || (typeof options.replica.module !== 'string' && !(options.replica.module instanceof URL)) || options.replica.module === '') {
      throw new DataParallelError('BAD_OPTIONS', 'replica.module must name the module that builds a model replica in each worker');
    }
    if (typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string') {
      throw new DataParallelError('NOT_NODE', 'data-parallel training runs worker_threads: it needs Node');
    }

    const setup: TrainingSetup = { mode, ...(adapter ? { adapter } : {}) };
    applyTrainingSetup(model, setup);
    const params = collectTrainable(model);
    if (params.length === 0) throw new DataParallelError('BAD_OPTIONS', 'the model has no trainable parameters in this mode');
    const scoring = resolveScoring(model, options, undefined, 'DataParallelPool.start()');
    const layout = layoutOf(params);
    const main = { keys: layout.keys, shapes: layout.shapes, fingerprint: await frozenFingerprint(model) };

    const buffers = {
      params: new SharedArrayBuffer(layout.total * 4),
      grads: new SharedArrayBuffer(workers * layout.total * 4),
      present: new SharedArrayBuffer(workers * params.length),
      stats: new SharedArrayBuffer(workers * 2 * 8),
    };
    const replica = { url: await moduleUrl(options.replica.module), exportName: options.replica.export ?? 'createReplica', options: options.replica.options };
    const { Worker } = await import('node:worker_threads');
    const entry = workerEntry();
    const pending: Array<Pending | undefined> = Array.from({ length: workers }, () => undefined);
    const started: NodeWorker[] = [];
    const ready: Array<Promise<Extract<FromWorker, { type: 'ready' }>>> = [];
    let pool: DataParallelPool | undefined;
    for (let index = 0; index < workers; index++) {
      const init: WorkerInit = {
        index,
        replica,
        backend,
        threads,
        setup,
        scoring: { ...(scoring.headName !== undefined ? { head: scoring.headName } : {}), labelKind: scoring.labelKind, padTokenId: scoring.padTokenId },
        layout,
        buffers,
      };
      const w = new Worker(entry.url, { workerData: init, ...(entry.execArgv ? { execArgv: entry.execArgv } : {}) }) as unknown as NodeWorker;
      started.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          let isReady = false;
          const failed = (why: string): void => {
            const err = new DataParallelError('WORKER_FAILED', `data-parallel worker ${index}: ${why}`);
            if (!isReady) reject(err);
            pool?.fail(index, err);
          };
          w.on('message', (m) => {
            if (m.type === 'ready') {
              isReady = true;
              resolve(m);
            } else if (m.type === 'done') pool?.settle(index);
            else if (m.code === 'REPLICA_MISMATCH' && !isReady) reject(new DataParallelError('REPLICA_MISMATCH', `data-parallel worker ${index}: ${m.message}`));
            else failed(`${m.code}: ${m.message}`);
          });
          w.on('error', (err) => failed(err.message));
          w.on('exit', (code) => {
            if (!pool?.closed) failed(`exited (code ${code})`);
          });
        }),
      );
    }
    let readies: Array<Extract<FromWorker, { type: 'ready' }>>;
    try {
      readies = await Promise.all(ready);
      readies.forEach((r, i) => {
        const diff = replicaDifference(main, r);
        if (diff) throw new DataParallelError('REPLICA_MISMATCH', `data-parallel worker ${i}: the replica differs from the main model: ${diff}`);
      });
    } catch (err) {
      await Promise.all(started.map((w) => w.terminate()));
      throw err;
    }
    pool = new DataParallelPool(started, params, layout, buffers, readies.map((r) => r.backend), pending);
    return pool;
  }

  private settle(index: number): void {
    const p = this.pending[index];
    this.pending[index] = undefined;
    p?.resolve();
  }

  private fail(index: number, err: Error): void {
    this.failure ??= err;
    const p = this.pending[index];
    this.pending[index] = undefined;
    p?.reject(err);
  }

  /**
   * The gradient of the mean loss of `examples` with respect to the main model's trainable parameters, computed by
   * the workers on contiguous shards (sizes differ by at most one). Writes the main model's current trainable
   * values to every replica first. With dropout (`training`), worker w of step s draws from
   * `shardSeed(seed, s, w)`: deterministic for a given seed and worker count, but not the stream a single process
   * would use, so only dropout-free steps equal the single-process step. With accumulation (`microBatch` of
   * `microBatches`) the stream is that of step `step · microBatches + microBatch`.
   *
   * The pool is a `gradientSource` of `@adapterkit/training`'s `train()`: `train(model, { ...,
   * gradientSource: pool })` runs the whole training loop (evaluation, checkpoints, resume, …) on the main model.
   *
   * @throws DataParallelError `BAD_OPTIONS` (no examples), `CLOSED`, `WORKER_FAILED`
   */
  async gradients(examples: readonly TrainExample[], options: GradientOptions = {}): Promise<ShardedGradients> {
    if (this.closed) throw new DataParallelError('CLOSED', 'the data-parallel pool is closed');
    if (this.failure) throw this.failure;
    if (examples.length === 0) throw new DataParallelError('BAD_OPTIONS', 'gradients() needs at least one example');
    const { layout, params } = this;
    const shared = new Float32Array(this.buffers.params);
    for (let i = 0; i < params.length; i++) shared.set(await params[i]!.variable.data(), layout.offsets[i]);

    const ranges = shardRanges(examples.length, this.workers.length);
    const id = this.nextId++;
    const seed = options.seed ?? 42;
    const microBatches = options.microBatches ?? 1;
    const step = (options.step ?? 0) * microBatches + (options.microBatch ?? 0);
    const training = options.training ?? true;
    await Promise.all(
      ranges.map(
        ([start, end], w) =>
          new Promise<void>((resolve, reject) => {
            this.pending[w] = { resolve, reject };
            this.workers[w]!.postMessage({ type: 'step', id, examples: examples.slice(start, end), seed: shardSeed(seed, step, w), training });
          }),
      ),
    );

    const stats = new Float64Array(this.buffers.stats);
    const present = new Uint8Array(this.buffers.present);
    const all = new Float32Array(this.buffers.grads);
    const weights = ranges.map((_, w) => stats[2 * w + 1]!);
    const loss = weightedMean(
      ranges.map((_, w) => [[stats[2 * w]!], weights[w]!] as const),
      new Float32Array(1),
    )[0]!;
    const grads = params.map((p, i) => {
      const size = p.variable.size;
      const shards = ranges.map((_, w) => {
        const start = w * layout.total + layout.offsets[i]!;
        return [present[w * params.length + i] ? all.subarray(start, start + size) : new Float32Array(size), weights[w]!] as const;
      });
      if (!ranges.some((_, w) => present[w * params.length + i])) return undefined;
      return tf.tensor(weightedMean(shards, new Float32Array(size)), p.variable.shape);
    });
    const numTokens = examples.reduce((s, e) => s + ('choices' in e ? e.choices.reduce((c, x) => c + x.inputIds.length, 0) : e.inputIds.length), 0);
    return { loss, weight: weights.reduce((a, b) => a + b, 0), grads, shardSizes: ranges.map(([s, e]) => e - s), numTokens };
  }

  /** Stop the workers (their replicas are freed with them). Idempotent. The main model is left as it is. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending) p?.reject(new DataParallelError('CLOSED', 'the data-parallel pool was closed during a step'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
