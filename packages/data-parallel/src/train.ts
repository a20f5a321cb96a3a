import type { AdapterModel } from '@adapterkit/core';
import { train, type TrainOptions, type TrainResult } from '@adapterkit/training';
import { DataParallelError } from './errors';
import { DataParallelPool, type DataParallelOptions } from './pool';

/**
 * Options of {@link trainDataParallel}: `train()`'s options (evaluation, checkpoints, resume, early stopping,
 * accumulation, signal, … with the same meaning and defaults) plus the pool's (workers, replica, backend, threads
 * per worker). `mode` and `adapter` are the pool's (`mode` without `asIs`; `adapter` by name), applied to the main
 * model and every replica alike; a custom `lossFn` cannot reach the workers and is refused.
 */
export interface DataParallelTrainOptions extends DataParallelOptions, Omit<TrainOptions, 'mode' | 'adapter' | 'gradientSource' | 'lossFn'> {}

/** What {@link trainDataParallel} returns: `train()`'s result plus each worker's backend. */
export interface DataParallelTrainResult extends TrainResult {
  /** Each worker's backend, as `describeBackend` prints it. */
  readonly backends: readonly string[];
}

/**
 * `train()` with the batch of every step split across worker threads ({@link DataParallelPool} as its
 * `gradientSource`): the workers compute the gradients of their shards, the pool averages them weighted by label
 * items, and `train()` accumulates, clips and applies AdamW once to the main model, whose new values every replica
 * copies before the next step. Everything else is `train()`'s, on the main model: data order, schedule, evaluation
 * (`evalData`), early stopping, keep-best, checkpoints and `resumeFrom`, `signal`. Without dropout a step equals
 * `train()`'s step on the whole batch (within float tolerance); with dropout, worker w of (micro-)step s draws from
 * `shardSeed(seed, s, w)`, so a run — and a resumed run — is reproducible for a given seed and worker count (a
 * resume with another worker count continues correctly but with other dropout masks).
 *
 * The pool is started first (options checked before any worker starts) and closed in every case.
 *
 * @throws DataParallelError `BAD_OPTIONS` (before any worker starts), `REPLICA_MISMATCH`, `WORKER_FAILED`; the
 *   errors of `train()` (e.g. `TrainingInterruptedError` after `signal`)
 */
export async function trainDataParallel(model: AdapterModel, options: DataParallelTrainOptions): Promise<DataParallelTrainResult> {
  if (!options.trainData || options.trainData.length === 0) throw new DataParallelError('BAD_OPTIONS', 'trainData is empty');
  if ((options as { lossFn?: unknown }).lossFn !== undefined) throw new DataParallelError('BAD_OPTIONS', 'a custom lossFn cannot run in the workers: use train() for it');
  const pool = await DataParallelPool.start(model, options);
  try {
    const adapter = options.adapter === undefined ? undefined : typeof options.adapter === 'string' ? options.adapter : [...options.adapter];
    const result = await train(model, { ...options, mode: options.mode ?? 'adapter', ...(adapter !== undefined ? { adapter } : {}), gradientSource: pool });
    return { ...result, backends: pool.backends };
  } finally {
    await pool.close();
  }
}
