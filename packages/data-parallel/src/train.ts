import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { AdamW, clipByGlobalNorm, epochOrder, learningRate, type TrainEvent, type TrainOptions } from '@adapterkit/training';
import { DataParallelError } from './errors';
import { DataParallelPool, type DataParallelOptions } from './pool';

/**
 * Options of {@link trainDataParallel}: the pool's (workers, replica, backend, mode, adapter, head) plus the
 * subset of `train()`'s options a data-parallel run supports, with the same meaning and defaults.
 */
export interface DataParallelTrainOptions
  extends DataParallelOptions,
    Pick<
      TrainOptions,
      'trainData' | 'epochs' | 'maxSteps' | 'lr' | 'weightDecay' | 'beta1' | 'beta2' | 'epsilon' | 'schedule' | 'warmupSteps' | 'maxGradNorm' | 'shuffle' | 'dropout'
    > {
  /** Examples per optimizer step, split across the workers (default 8). */
  readonly batchSize?: number;
  /** Seed of the data order and of the workers' dropout streams, default 42. */
  readonly seed?: number;
  /** `step` and `done` events, as `train()` sends them. */
  readonly onProgress?: (event: TrainEvent) => void;
}

/** What {@link trainDataParallel} returns. */
export interface DataParallelTrainResult {
  readonly step: number;
  readonly epoch: number;
  /** Mean loss of the last step (NaN when none ran). */
  readonly lastLoss: number;
  /** Each worker's backend, as `describeBackend` prints it. */
  readonly backends: readonly string[];
}

function positiveInt(value: number | undefined, name: string, dflt: number): number {
  const x = value ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new DataParallelError('BAD_OPTIONS', `${name} must be a positive integer, got ${x}`);
  return x;
}

/**
 * Train with the batch of every step split across worker threads ({@link DataParallelPool}): the workers compute
 * the gradients of their shards, the pool averages them weighted by label items, and the main thread clips and
 * applies AdamW once to the main model, whose new values every replica copies before the next step. Data order,
 * learning-rate schedule, clipping and AdamW are `@adapterkit/training`'s, so without dropout a step equals
 * `train()`'s step on the whole batch (within float tolerance); with dropout, runs are reproducible for a given seed
 * and worker count.
 *
 * Not supported here (use `train()`): gradient accumulation, evaluation during training, early stopping,
 * checkpoints, custom loss functions. Evaluate afterwards with `evaluate()` on the main model.
 *
 * @throws DataParallelError `BAD_OPTIONS` (before any worker starts), `REPLICA_MISMATCH`, `WORKER_FAILED`
 */
export async function trainDataParallel(model: AdapterModel, options: DataParallelTrainOptions): Promise<DataParallelTrainResult> {
  const o = options;
  if (!o.trainData || o.trainData.length === 0) throw new DataParallelError('BAD_OPTIONS', 'trainData is empty');
  const batchSize = positiveInt(o.batchSize, 'batchSize', 8);
  const numBatches = Math.ceil(o.trainData.length / batchSize);
  const totalSteps = o.maxSteps !== undefined ? positiveInt(o.maxSteps, 'maxSteps', 1) : positiveInt(o.epochs, 'epochs', 3) * numBatches;
  const schedule = { schedule: o.schedule ?? 'linear', baseLr: o.lr ?? 1e-4, warmupSteps: o.warmupSteps ?? 0, totalSteps } as const;
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  const seed = o.seed ?? 42;
  const training = o.dropout ?? true;
  const emit = (e: TrainEvent): void => o.onProgress?.(e);

  const pool = await DataParallelPool.start(model, o);
  const opt = new AdamW({
    ...(o.beta1 !== undefined ? { beta1: o.beta1 } : {}),
    ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}),
    ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
    weightDecay: o.weightDecay ?? 0,
  });
  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let lastLoss = NaN;
  try {
    let order = epochOrder(o.trainData.length, seed, epoch, o.shuffle ?? true);
    while (step < totalSteps) {
      const lr = learningRate(step, schedule);
      const t0 = performance.now();
      const g = await pool.gradients(order.slice(batchInEpoch * batchSize, (batchInEpoch + 1) * batchSize).map((i) => o.trainData[i]!), { training, seed, step });
      const norm = tf.tidy(() => {
        const present = g.grads.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
        const { grads: clipped, norm: n } = clipByGlobalNorm(present.map((i) => g.grads[i]!), maxGradNorm);
        const full: Array<tf.Tensor | undefined> = pool.params.map(() => undefined);
        present.forEach((i, j) => (full[i] = clipped[j]));
        opt.apply(pool.params, full, lr);
        return n;
      });
      tf.dispose(g.grads.filter((x): x is tf.Tensor => x !== undefined));
      const gradNorm = (await norm.data())[0]!;
      norm.dispose();
      const stepMs = performance.now() - t0;
      lastLoss = g.loss;
      step += 1;
      batchInEpoch += 1;
      emit({ type: 'step', step, totalSteps, epoch, loss: g.loss, lr, gradNorm, tokensPerSecond: (1000 * g.numTokens) / stepMs, stepMs });
      if (batchInEpoch >= numBatches) {
        epoch += 1;
        batchInEpoch = 0;
        order = epochOrder(o.trainData.length, seed, epoch, o.shuffle ?? true);
      }
    }
    emit({ type: 'done', step, epoch });
    return { step, epoch, lastLoss, backends: pool.backends };
  } finally {
    opt.dispose();
    await pool.close();
  }
}
