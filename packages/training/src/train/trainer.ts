import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, hostFs, joinPath, AdapterStateError, adapterNames, Rng, serializeSafetensors, type AdapterModel, type SetupNode } from '@adapterkit/core';
import { saveAdapterWithHead, saveHead } from '../heads/io';
import { getHeads } from '../heads/registry';
import { AdamW } from './adamw';
import {
  CHECKPOINT_FILES,
  listCheckpoints,
  removeAbandonedCheckpointWrites,
  paramsFile,
  readCheckpoint,
  restoreParams,
  writeCheckpoint,
  type EvalRecord,
  type TrainerState,
} from './checkpoint';
import { clipByGlobalNorm } from './clip';
import { batchAt, collate, epochOrder, type TrainExample } from './data';
import { batchLoss, resolveScoring, scoreExamples, type ScoringOptions } from './evaluate';
import { higherIsBetter, type MetricName } from './metrics';
import { positiveInt } from './options';
import { collectTrainable, type TrainableParam } from './params';
import { learningRate, type ScheduleName } from './schedule';

export type { LossFn } from './evaluate';

/**
 * {@link TrainOptions.signal} stopped a run (code `TRAINING_INTERRUPTED`); `checkpoint` is the checkpoint written
 * at the step it stopped after, when the run had a `checkpointDir`.
 */
export class TrainingInterruptedError extends AdapterKitError {
  constructor(
    readonly step: number,
    readonly totalSteps: number,
    readonly checkpoint: string | undefined,
  ) {
    super('TRAINING_INTERRUPTED', `training interrupted after step ${step} of ${totalSteps}${checkpoint ? `; checkpoint saved in ${checkpoint}` : ' (no checkpointDir: nothing saved)'}`);
  }
}

/**
 * What {@link GradientSource.gradients} is told about the micro-batch it computes.
 */
export interface GradientContext {
  /** Whether the forward runs with dropout (`TrainOptions.dropout`). */
  readonly training: boolean;
  /** The run's seed (`TrainOptions.seed`, or the resumed run's). */
  readonly seed: number;
  /** Optimizer steps done before this one (0-based index of the step this micro-batch belongs to). */
  readonly step: number;
  /** Index of the micro-batch within the step, `0 ≤ microBatch < microBatches`. */
  readonly microBatch: number;
  /** `TrainOptions.gradientAccumulationSteps` (the last step of an epoch may run fewer micro-batches). */
  readonly microBatches: number;
}

/** What a {@link GradientSource} returns for one micro-batch; the tensors belong to the trainer, which disposes them. */
export interface MicroBatchGradients {
  /** Mean loss of the micro-batch (over its label items). */
  readonly loss: number;
  /**
   * Gradient of that mean loss per trainable parameter, in the order of {@link GradientSource.paramKeys}, each of
   * the parameter's shape; `undefined` where the loss does not depend on the parameter.
   */
  readonly grads: ReadonlyArray<tf.Tensor | undefined>;
  /** Tokens of the micro-batch, padding excluded (for `tokensPerSecond`). */
  readonly numTokens: number;
  /** Label items the mean is over (examples, or labelled tokens for tagging / LM heads). Informational. */
  readonly weight: number;
}

/**
 * Computes the loss and gradients of micro-batches somewhere else than in the trainer's own `tf.variableGrads`
 * (e.g. `DataParallelPool` of `@adapterkit/data-parallel`: worker threads, each with a model replica). The trainer
 * keeps everything else: data order, schedule, accumulation, clipping, AdamW on the model passed to {@link train},
 * evaluation, early stopping, keep-best, checkpoints, resume and the signal. Before each call the source must read
 * the model's current trainable values (the trainer updates them after every step). The source computes the loss
 * the same way `train()` would (same head, label layout and padding id); a custom `lossFn` is the source's business.
 *
 * Dropout: the trainer's own random stream is not used on this path; the source derives its randomness from the
 * {@link GradientContext} (seed, step, micro-batch), so a resumed run reproduces an uninterrupted one exactly when
 * the source is deterministic in those (`DataParallelPool` is, for a given number of workers).
 */
export interface GradientSource {
  /**
   * Keys (`TrainableParam.key`) of the parameters {@link MicroBatchGradients.grads} is aligned with: must equal the
   * trainer's trainable parameters (`collectTrainable` order) once the mode is applied; checked when the run starts
   * (`BAD_TRAIN_OPTIONS` naming the first difference).
   */
  readonly paramKeys: readonly string[];
  /** Mean loss and its gradients for `examples` (one micro-batch, in batch order). */
  gradients(examples: readonly TrainExample[], context: GradientContext): Promise<MicroBatchGradients>;
}

/** Events sent to {@link TrainOptions.onProgress}. */
export type TrainEvent =
  | {
      readonly type: 'step';
      readonly step: number;
      readonly totalSteps: number;
      readonly epoch: number;
      /** Mean loss of the step's micro-batches. */
      readonly loss: number;
      readonly lr: number;
      /** Global gradient norm before clipping. */
      readonly gradNorm: number;
      readonly tokensPerSecond: number;
      readonly stepMs: number;
    }
  | { readonly type: 'eval'; readonly step: number; readonly epoch: number; readonly metrics: Readonly<Record<string, number>> }
  | { readonly type: 'checkpoint'; readonly step: number; readonly dir: string }
  | { readonly type: 'earlyStop'; readonly step: number; readonly metric: string; readonly best: number }
  | { readonly type: 'done'; readonly step: number; readonly epoch: number };

/** Options of {@link train}; the scoring options (head or `lossFn`, label layout, metrics, padding) are those of `evaluate`. */
export interface TrainOptions extends ScoringOptions {
  /** Examples; a multiple-choice head takes {@link ChoiceExample}s (`{ choices, labels }`). */
  readonly trainData: readonly TrainExample[];
  readonly evalData?: readonly TrainExample[];
  /** Default 8. */
  readonly batchSize?: number;
  /** Default: `batchSize`. */
  readonly evalBatchSize?: number;
  /** Shuffle the training data every epoch (seeded), default true. */
  readonly shuffle?: boolean;
  /**
   * `adapter` (default): train the adapters of `adapter` (or of the last `model.trainAdapter`) plus every head,
   * base frozen. `full`: every base parameter plus the heads (the full fine-tuning baseline); adapters and parameter groups
   * (fusion layers) frozen (active ones still run). `heads`: the heads alone, base, adapters and parameter groups
   * frozen (active adapters and fusions still run) — the
   * frozen-encoder ("linear probe") baseline. `asIs`: keep the trainability the caller set (e.g. after
   * `trainAdapterFusion`), training every trainable variable plus the heads.
   */
  readonly mode?: 'adapter' | 'full' | 'heads' | 'asIs';
  /** Adapter setup to train in `adapter` mode (calls `model.trainAdapter`). */
  readonly adapter?: SetupNode | readonly string[];
  /** Peak learning rate, default 1e-4 (the reference's recommendation for adapters). */
  readonly lr?: number;
  /** AdamW decoupled weight decay (not on biases/LayerNorm), default 0 as HF `TrainingArguments`. */
  readonly weightDecay?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Default `linear`. */
  readonly schedule?: ScheduleName;
  /** Default 0. */
  readonly warmupSteps?: number;
  /** Global-norm clipping threshold, default 1.0 (HF); `Infinity` or 0 disables. */
  readonly maxGradNorm?: number;
  /** Micro-batches per optimizer step, default 1. Losses are divided by it (HF). */
  readonly gradientAccumulationSteps?: number;
  /** Default 3 (HF). */
  readonly epochs?: number;
  /** Optimizer steps; overrides `epochs`. */
  readonly maxSteps?: number;
  /** Evaluate every N optimizer steps (default: after every epoch). */
  readonly evalEvery?: number;
  /** Stop after `patience` evaluations without improvement of `metric` (default `loss`) by more than `minDelta`. */
  readonly earlyStopping?: { readonly patience: number; readonly metric?: MetricName; readonly minDelta?: number };
  /** Restore the weights of the best evaluation at the end (metric: early stopping's, else `loss`). */
  readonly keepBest?: boolean | { readonly metric: MetricName };
  /** Folder for `checkpoint-<step>/` folders. */
  readonly checkpointDir?: string;
  /** Write a checkpoint every N optimizer steps (needs `checkpointDir`). */
  readonly checkpointEvery?: number;
  /**
   * Keep only the newest N of the checkpoints this run wrote (plus the one it resumed from), default all.
   * Checkpoints of other runs in `checkpointDir` are never deleted.
   */
  readonly keepCheckpoints?: number;
  /** Continue a run from a checkpoint folder, or `'latest'` in `checkpointDir`; continues bit-identically. */
  readonly resumeFrom?: string;
  readonly onProgress?: (event: TrainEvent) => void;
  /**
   * Stops the run after the current step: a checkpoint is written (when `checkpointDir` is set) and
   * {@link TrainingInterruptedError} is thrown, naming it.
   */
  readonly signal?: AbortSignal;
  /** Seed of data order and dropout, default 42. */
  readonly seed?: number;
  /** Dropout during training (default true). */
  readonly dropout?: boolean;
  /**
   * Where the gradients come from (default: computed here, with `tf.variableGrads` on `model`). With a source, each
   * micro-batch's loss and gradients are the source's (see {@link GradientSource}); micro-batches combine as on the
   * local path (the sum of the micro-batch gradients divided by `gradientAccumulationSteps`, the step's loss the mean
   * of the micro-batch losses), then clipping and AdamW update `model`.
   */
  readonly gradientSource?: GradientSource;
}

/** What {@link train} returns. */
export interface TrainResult {
  /** Optimizer steps done (including those before a resume). */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  readonly history: readonly EvalRecord[];
  readonly best?: { readonly metric: string; readonly value: number; readonly step: number };
  readonly stoppedEarly: boolean;
  /** Mean loss of the last step (NaN when no step ran). */
  readonly lastLoss: number;
}

interface Loop {
  step: number;
  epoch: number;
  batchInEpoch: number;
  seed: number;
  best: { metric: string; value: number; step: number } | null;
  badEvals: number;
  history: EvalRecord[];
}

/**
 * Train a model's adapters (or the whole model) and heads: AdamW with decoupled weight decay (none on biases and
 * LayerNorm weights), a linear/cosine/constant schedule with warm-up, global-norm clipping, gradient accumulation,
 * periodic evaluation with metrics, early stopping, keep-best, atomic checkpoints that resume bit-identically
 * (params, AdamW moments, step, data position and the dropout random stream), and progress events.
 *
 * Every step runs inside `tf.tidy`; the number of live tensors does not grow with the number of steps.
 *
 * Dropout: every training forward gets the trainer's own seeded stream as its random source
 * (`forward({ training: true, rng })`), and its state is checkpointed, which is what makes runs and resumes
 * reproducible. Nothing global is touched.
 *
 * With `gradientSource` (e.g. data-parallel workers) the micro-batches' losses and gradients come from the source
 * and the rest (accumulation, clipping, AdamW, evaluation on `model`, checkpoints, resume, signal) is unchanged; the
 * source derives its dropout from (seed, step, micro-batch), so resumes stay bit-identical for a deterministic source.
 */
export async function train(model: AdapterModel, options: TrainOptions): Promise<TrainResult> {
  const o = options;
  if (o.trainData.length === 0) throw new AdapterKitError('BAD_TRAIN_OPTIONS', 'trainData is empty');
  const batchSize = positiveInt(o.batchSize, 'batchSize', 8);
  const evalBatchSize = positiveInt(o.evalBatchSize, 'evalBatchSize', batchSize);
  const accum = positiveInt(o.gradientAccumulationSteps, 'gradientAccumulationSteps', 1);
  const training = o.dropout ?? true;
  const mode = o.mode ?? 'adapter';
  const heads = getHeads(model);
  // Set trainability first: trainAdapter changes the setup, which may switch the active head.
  if (mode === 'full' || mode === 'heads') {
    model.freezeModel(mode === 'heads');
    model.freezeAdapters();
  } else if (mode !== 'asIs') {
    const setup = o.adapter ?? model.trainingSetup;
    if (!setup) throw new AdapterStateError('NO_TRAINING_SETUP', "mode 'adapter' needs options.adapter or a previous model.trainAdapter(setup)");
    model.trainAdapter(setup as SetupNode);
  }

  const scoring = resolveScoring(model, o, o.trainData[0], 'train()');
  const { labelKind, metrics, padTokenId } = scoring;

  const params = collectTrainable(model);
  if (params.length === 0) throw new AdapterStateError('NOTHING_TO_TRAIN', 'No trainable parameters');
  const vars = params.map((p) => p.variable);
  const source = o.gradientSource;
  if (source) {
    const keys = source.paramKeys;
    const n = Math.max(keys.length, params.length);
    for (let i = 0; i < n; i++) {
      if (keys[i] !== params[i]?.key) {
        throw new AdapterKitError('BAD_TRAIN_OPTIONS', `gradientSource's parameter ${i} is ${keys[i] ?? '(none)'}, the model's trainable parameter ${i} is ${params[i]?.key ?? '(none)'}`);
      }
    }
  }

  const numBatches = Math.ceil(o.trainData.length / batchSize);
  const stepsPerEpoch = Math.ceil(numBatches / accum);
  const totalSteps = o.maxSteps ?? positiveInt(o.epochs, 'epochs', 3) * stepsPerEpoch;
  const schedule = { schedule: o.schedule ?? 'linear', baseLr: o.lr ?? 1e-4, warmupSteps: o.warmupSteps ?? 0, totalSteps } as const;
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  const bestMetric = o.earlyStopping?.metric ?? (typeof o.keepBest === 'object' ? o.keepBest.metric : 'loss');
  if (o.checkpointEvery && !o.checkpointDir) throw new AdapterKitError('BAD_TRAIN_OPTIONS', 'checkpointEvery needs checkpointDir');

  const opt = new AdamW({
    ...(o.beta1 !== undefined ? { beta1: o.beta1 } : {}),
    ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}),
    ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
    weightDecay: o.weightDecay ?? 0,
  });
  const rng = new Rng(o.seed ?? 42);
  const loop: Loop = { step: 0, epoch: 0, batchInEpoch: 0, seed: o.seed ?? 42, best: null, badEvals: 0, history: [] };
  let bestSnapshot: tf.Tensor[] | undefined;
  const emit = (e: TrainEvent): void => o.onProgress?.(e);

  /**
   * Clip a step's gradients (one per trainable parameter, undefined where the loss does not depend on it) by their
   * global norm and apply AdamW; returns the norm before clipping. Call inside `tf.tidy`.
   */
  const applyUpdate = (grads: ReadonlyArray<tf.Tensor | undefined>, lr: number): tf.Scalar => {
    const present = grads.map((g, i) => (g ? i : -1)).filter((i) => i >= 0);
    const { grads: clipped, norm } = clipByGlobalNorm(present.map((i) => grads[i]!), maxGradNorm);
    const full: Array<tf.Tensor | undefined> = params.map(() => undefined);
    present.forEach((i, j) => (full[i] = clipped[j]));
    opt.apply(params, full, lr);
    return norm;
  };

  /** One optimizer step over `micro` consecutive micro-batches of the current epoch. */
  const runStep = (order: readonly number[], micro: number, lr: number): { stats: tf.Tensor1D; tokens: number } =>
    tf.tidy(() => {
        const acc: Array<tf.Tensor | undefined> = params.map(() => undefined);
        const losses: tf.Scalar[] = [];
        let tokens = 0;
        for (let k = 0; k < micro; k++) {
          const batch = collate(batchAt(o.trainData, order, batchSize, loop.batchInEpoch + k), padTokenId, labelKind);
          tokens += batch.numTokens;
          const { value, grads } = tf.variableGrads(() => tf.div(batchLoss(model, scoring, batch, training, training ? rng : undefined), accum) as tf.Scalar, vars);
          losses.push(value);
          params.forEach((p, i) => {
            const g = grads[p.variable.name];
            if (g) acc[i] = acc[i] ? tf.add(acc[i]!, g) : g;
          });
        }
        const norm = applyUpdate(acc, lr);
        const meanLoss = tf.mul(tf.addN(losses), accum / micro);
        // [loss, grad norm], read asynchronously by the caller (GPU backends cannot read synchronously)
        return { stats: tf.stack([meanLoss, norm]) as tf.Tensor1D, tokens };
      });

  /** {@link runStep} with the micro-batches' losses and gradients from `o.gradientSource`. */
  const runSourceStep = async (source: GradientSource, order: readonly number[], micro: number, lr: number): Promise<{ stats: tf.Tensor1D; tokens: number }> => {
    const acc: Array<tf.Tensor | undefined> = params.map(() => undefined);
    let lossSum = 0;
    let tokens = 0;
    try {
      for (let k = 0; k < micro; k++) {
        const examples = batchAt(o.trainData, order, batchSize, loop.batchInEpoch + k);
        const r = await source.gradients(examples, { training, seed: loop.seed, step: loop.step, microBatch: k, microBatches: accum });
        try {
          if (r.grads.length !== params.length) throw new AdapterKitError('BAD_GRADIENTS', `gradientSource returned ${r.grads.length} gradients for ${params.length} trainable parameters`);
          params.forEach((p, i) => {
            const g = r.grads[i];
            if (g && !tf.util.arraysEqual(g.shape, p.variable.shape)) {
              throw new AdapterKitError('BAD_GRADIENTS', `gradientSource: gradient of ${p.key} has shape [${g.shape.join(', ')}], the parameter [${p.variable.shape.join(', ')}]`);
            }
          });
        } catch (err) {
          tf.dispose(r.grads.filter((g): g is tf.Tensor => g !== undefined));
          throw err;
        }
        lossSum += r.loss;
        tokens += r.numTokens;
        r.grads.forEach((g, i) => {
          if (!g) return;
          const prev = acc[i];
          if (prev) {
            acc[i] = tf.add(prev, g);
            tf.dispose([prev, g]);
          } else acc[i] = g;
        });
      }
      const stats = tf.tidy(() => {
        const norm = applyUpdate(accum === 1 ? acc : acc.map((g) => g && tf.div(g, accum)), lr);
        return tf.stack([tf.scalar(lossSum / micro), norm]) as tf.Tensor1D;
      });
      return { stats, tokens };
    } finally {
      tf.dispose(acc.filter((g): g is tf.Tensor => g !== undefined));
    }
  };

  const evaluate = (): Promise<Record<string, number>> => scoreExamples(model, o.evalData!, scoring, evalBatchSize);

  const snapshot = (): void => {
    tf.dispose(bestSnapshot ?? []);
    bestSnapshot = params.map((p) => tf.keep(tf.clone(p.variable)));
  };

  const state = (): TrainerState => ({
    version: 1,
    step: loop.step,
    epoch: loop.epoch,
    batchInEpoch: loop.batchInEpoch,
    seed: loop.seed,
    rngState: rng.getState(),
    best: loop.best,
    badEvals: loop.badEvals,
    history: loop.history,
    optimizerSteps: opt.stepCounts(),
    paramKeys: params.map((p) => p.key),
  });

  /** Checkpoints of this run's lineage (the one resumed from, then those written), oldest first. */
  const lineage: string[] = [];
  const saveCheckpoint = async (): Promise<string> => {
    const dir = joinPath(o.checkpointDir!, `checkpoint-${loop.step}`);
    const files: Record<string, Uint8Array | string> = {
      [CHECKPOINT_FILES.state]: JSON.stringify(state(), null, 2),
      [CHECKPOINT_FILES.params]: await paramsFile(params.map((p) => ({ key: p.key, value: p.variable }))),
      [CHECKPOINT_FILES.optimizer]: serializeSafetensors(await opt.exportMoments(), { format: 'adapterkit-checkpoint' }),
    };
    if (bestSnapshot) files[CHECKPOINT_FILES.best] = await paramsFile(params.map((p, i) => ({ key: p.key, value: bestSnapshot![i]! })));
    await writeCheckpoint(dir, files, async (tmp) => {
      const trained = mode === 'adapter' && model.trainingSetup ? adapterNames(model.trainingSetup) : [];
      // a checkpoint is read back only by AdapterKit (resume): any config, also those AdapterHub's libraries lack
      for (const a of trained) await saveAdapterWithHead(model, joinPath(tmp, a), a, { tiedWeights: false, adapterKitOnly: true });
      for (const h of heads.names()) if (!trained.includes(h)) await saveHead(model, joinPath(tmp, h), h, { tiedWeights: false });
    });
    emit({ type: 'checkpoint', step: loop.step, dir });
    if (!lineage.includes(dir)) lineage.push(dir);
    if (o.keepCheckpoints !== undefined) {
      for (const old of lineage.splice(0, Math.max(0, lineage.length - o.keepCheckpoints))) await hostFs.rm(old);
    }
    return dir;
  };

  const resume = async (from: string): Promise<void> => {
    let dir = from;
    if (from === 'latest') {
      if (!o.checkpointDir) throw new AdapterKitError('BAD_TRAIN_OPTIONS', "resumeFrom 'latest' needs checkpointDir");
      const all = await listCheckpoints(o.checkpointDir);
      if (all.length === 0) throw new AdapterKitError('BAD_CHECKPOINT', `${o.checkpointDir}: no checkpoint-<step> folder to resume from`);
      dir = all[all.length - 1]!;
    }
    const ck = await readCheckpoint(dir);
    lineage.push(dir);
    restoreParams(params, ck.params, dir);
    opt.restore(params, ck.state.optimizerSteps, ck.moments, dir);
    rng.setState(ck.state.rngState);
    Object.assign(loop, {
      step: ck.state.step,
      epoch: ck.state.epoch,
      batchInEpoch: ck.state.batchInEpoch,
      seed: ck.state.seed,
      best: ck.state.best,
      badEvals: ck.state.badEvals,
      history: [...ck.state.history],
    });
    if (ck.best) bestSnapshot = params.map((p) => tf.keep(tf.tensor(ck.best!.get(p.key)!.data as Float32Array, p.variable.shape)));
  };

  let stoppedEarly = false;
  let lastLoss = NaN;
  try {
    if (o.checkpointDir) await removeAbandonedCheckpointWrites(o.checkpointDir);
    if (o.resumeFrom) await resume(o.resumeFrom);
    let order: number[] | undefined;
    let orderEpoch = -1;
    while (loop.step < totalSteps && !stoppedEarly) {
      if (orderEpoch !== loop.epoch) {
        order = epochOrder(o.trainData.length, loop.seed, loop.epoch, o.shuffle ?? true);
        orderEpoch = loop.epoch;
      }
      const micro = Math.min(accum, numBatches - loop.batchInEpoch);
      const lr = learningRate(loop.step, schedule);
      const t0 = performance.now();
      const step = source ? await runSourceStep(source, order!, micro, lr) : runStep(order!, micro, lr);
      const [stepLoss, stepNorm] = await step.stats.data();
      step.stats.dispose();
      const r = { loss: stepLoss!, norm: stepNorm!, tokens: step.tokens };
      const stepMs = performance.now() - t0;
      lastLoss = r.loss;
      loop.batchInEpoch += micro;
      loop.step += 1;
      emit({ type: 'step', step: loop.step, totalSteps, epoch: loop.epoch, loss: r.loss, lr, gradNorm: r.norm, tokensPerSecond: (1000 * r.tokens) / stepMs, stepMs });
      const epochDone = loop.batchInEpoch >= numBatches;
      if (epochDone) {
        loop.epoch += 1;
        loop.batchInEpoch = 0;
      }
      if (o.evalData && o.evalData.length > 0 && (o.evalEvery ? loop.step % o.evalEvery === 0 : epochDone)) {
        const m = await evaluate();
        loop.history.push({ step: loop.step, epoch: loop.epoch, metrics: m });
        emit({ type: 'eval', step: loop.step, epoch: loop.epoch, metrics: m });
        const v = m[bestMetric];
        if (v === undefined) throw new AdapterKitError('BAD_TRAIN_OPTIONS', `early stopping / keep-best metric '${bestMetric}' is not among the metrics (${metrics.join(', ')})`);
        const delta = o.earlyStopping?.minDelta ?? 0;
        const improved = loop.best === null || (higherIsBetter(bestMetric) ? v > loop.best.value + delta : v < loop.best.value - delta);
        if (improved) {
          loop.best = { metric: bestMetric, value: v, step: loop.step };
          loop.badEvals = 0;
          if (o.keepBest) snapshot();
        } else {
          loop.badEvals += 1;
          if (o.earlyStopping && loop.badEvals >= o.earlyStopping.patience) {
            stoppedEarly = true;
            emit({ type: 'earlyStop', step: loop.step, metric: bestMetric, best: loop.best!.value });
          }
        }
      }
      const periodic = o.checkpointEvery !== undefined && o.checkpointEvery > 0 && loop.step % o.checkpointEvery === 0;
      if (periodic) await saveCheckpoint();
      // a signal is only seen if its event (e.g. a SIGINT handler) gets a turn: steps alone never yield the event loop
      if (o.signal) await new Promise((r) => setTimeout(r, 0));
      if (o.signal?.aborted && loop.step < totalSteps && !stoppedEarly) {
        const saved = o.checkpointDir ? (periodic ? lineage[lineage.length - 1]! : await saveCheckpoint()) : undefined;
        throw new TrainingInterruptedError(loop.step, totalSteps, saved);
      }
    }
    if (o.keepBest && bestSnapshot) {
      const snap = bestSnapshot;
      params.forEach((p: TrainableParam, i) => p.variable.assign(snap[i]!));
    }
    emit({ type: 'done', step: loop.step, epoch: loop.epoch });
    return { step: loop.step, epoch: loop.epoch, history: loop.history, ...(loop.best ? { best: loop.best } : {}), stoppedEarly, lastLoss };
  } finally {
    tf.dispose(bestSnapshot ?? []);
    opt.dispose();
  }
}
