import { adapterNames, type AdapterModel, type SetupNode } from '@adapterkit/core';
import { ServeError } from './errors';
import type { Mutex } from './lock';
import type { ServeMetrics } from './metrics';
import { mixedForward, type MixedRow, type MixedRowResult } from './mixed';
import type { AdapterPool } from './pool';

/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  /** Most rows in one forward (a request with more rows runs alone). */
  readonly maxBatch: number;
  /** How long the first request of a batch waits for others (ms). */
  readonly batchWindowMs: number;
  /** Combine different adapters in one BatchSplit forward (default true); false: one forward per adapter setup. */
  readonly mixed?: boolean;
  /** Compute the host's LM logits (decoder hosts). */
  readonly lmLogits?: boolean;
}

/**
 * A batch waits for more requests for as long as they keep arriving (window by window), at most this fraction of the
 * last batch's compute time (at least one window; no wait once `maxBatch` rows wait). Closed-loop clients answered by
 * one batch then join the next instead of splitting the load into half-full cohorts.
 */
export const AFTER_BATCH_WAIT = 0.5;

interface Job {
  readonly setup: SetupNode | null;
  readonly rows: readonly MixedRow[];
  readonly enqueued: number;
  readonly resolve: (r: MixedRowResult[]) => void;
  readonly reject: (e: unknown) => void;
  cancelled: boolean;
}

/**
 * Collects forward requests for `batchWindowMs` (or until `maxBatch` rows wait) and runs them as one
 * {@link mixedForward} under the model lock, after loading their adapters into the pool. One batch runs at a time:
 * requests arriving meanwhile form the next batch when it ends (continuous batching; at once when `maxBatch` rows
 * wait, else once a window passes without a new row, or {@link AFTER_BATCH_WAIT} of the last batch's compute time),
 * so batches grow with the load. A request whose adapter
 * fails to load is rejected alone (422); the others of its batch run.
 */
export class Batcher {
  private queue: Job[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  /** Compute time of the last batch (ms). */
  private lastComputeMs = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly model: AdapterModel,
    private readonly pool: AdapterPool,
    private readonly lock: Mutex,
    private readonly metrics: ServeMetrics,
    private readonly options: BatcherOptions,
  ) {}

  /** Queue rows that share one setup; resolves with one result per row. `signal` cancels a job not yet started. */
  submit(setup: SetupNode | null, rows: readonly MixedRow[], signal?: AbortSignal): Promise<MixedRowResult[]> {
    return new Promise((resolve, reject) => {
      const job: Job = { setup, rows, enqueued: performance.now(), resolve, reject, cancelled: false };
      signal?.addEventListener('abort', () => {
        job.cancelled = true;
      });
      this.queue.push(job);
      this.schedule();
    });
  }

  /**
   * Start a batch now when `maxBatch` rows wait (or there is no window); else wait in steps of the window for as long
   * as rows keep arriving: a step that brings no new row starts the batch, and so does the wait reaching
   * {@link AFTER_BATCH_WAIT} of the last batch's compute time (one window before the first batch). A lone request
   * therefore waits one window, as before; right after a batch, the clients it just answered send their next
   * requests over a few ms (the forward blocked the event loop meanwhile), and starting a small batch without them
   * would cost nearly as much as a full one. (The old rule, "wait at least 10 % of the compute time after a batch",
   * never applied: the first request read after a batch armed a plain window before the after-batch check ran.)
   */
  private schedule(): void {
    if (this.running > 0) return;
    if (this.waitingRows() >= this.options.maxBatch || this.options.batchWindowMs <= 0) {
      this.flush();
      return;
    }
    if (this.timer) return;
    const window = this.options.batchWindowMs;
    const deadline = performance.now() + Math.max(window, AFTER_BATCH_WAIT * this.lastComputeMs);
    let seen = this.waitingRows();
    const step = (): void => {
      const now = this.waitingRows();
      const left = deadline - performance.now();
      if (now > seen && left > 0) {
        seen = now;
        this.timer = setTimeout(step, Math.min(window, left));
      } else this.flush();
    };
    this.timer = setTimeout(step, window);
  }

  private waitingRows(): number {
    return this.queue.reduce((s, j) => s + (j.cancelled ? 0 : j.rows.length), 0);
  }

  /** Start the next batch from what waits now (without waiting for the window), unless one is running. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running > 0) return;
    const batch: Job[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.cancelled) {
        this.queue.shift();
        continue;
      }
      if (batch.length > 0 && rows + next.rows.length > this.options.maxBatch) break;
      const names = new Set(batch.flatMap((j) => (j.setup ? adapterNames(j.setup) : [])));
      for (const n of next.setup ? adapterNames(next.setup) : []) names.add(n);
      if (batch.length > 0 && names.size > this.pool.maxLoaded) break;
      batch.push(this.queue.shift()!);
      rows += next.rows.length;
    }
    if (batch.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.running++;
    void this.lock.run(() => this.run(batch)).finally(() => {
      this.running--;
      // let the requests that arrived while the forward blocked the event loop be read first, then batch them
      setImmediate(() => {
        if (this.running > 0) return;
        if (this.queue.length > 0) this.schedule();
        else for (const w of this.idleWaiters.splice(0)) w();
      });
    });
  }

  /** Resolves when nothing is queued or running (after a {@link flush}). */
  idle(): Promise<void> {
    this.flush();
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(jobs: Job[]): Promise<void> {
    const live: Job[] = [];
    const pinned: string[] = [];
    try {
      for (const job of jobs) {
        if (job.cancelled) continue;
        const names = job.setup ? adapterNames(job.setup) : [];
        try {
          for (const n of names) {
            await this.pool.ensure(n);
            this.pool.pin([n]);
            pinned.push(n);
          }
          live.push(job);
        } catch (err) {
          job.reject(err);
        }
      }
      if (live.length === 0) return;
      const now = performance.now();
      for (const j of live) this.metrics.queueTime.observe((now - j.enqueued) / 1000);
      const rows = live.flatMap((j) => j.rows.map((r) => ({ ...r, setup: j.setup })));
      let results: MixedRowResult[];
      const started = performance.now();
      try {
        results = mixedForward(this.model, rows, {
          mixed: this.options.mixed ?? true,
          lmLogits: this.options.lmLogits ?? false,
          onForward: (n, k) => {
            this.metrics.batchRows.observe(n);
            this.metrics.batchAdapters.observe(k);
          },
        });
      } catch (err) {
        this.metrics.batchTime.observe((performance.now() - started) / 1000);
        const e = err instanceof ServeError ? err : new ServeError(500, 'FORWARD_FAILED', `forward failed: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
        for (const j of live) j.reject(e);
        return;
      }
      this.lastComputeMs = performance.now() - started;
      this.metrics.batchTime.observe(this.lastComputeMs / 1000);
      let start = 0;
      for (const j of live) {
        j.resolve(results.slice(start, start + j.rows.length));
        start += j.rows.length;
      }
    } finally {
      this.pool.unpin(pinned);
    }
  }
}
