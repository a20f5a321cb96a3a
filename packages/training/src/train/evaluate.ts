import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, AdapterStateError, type AdapterModel, type Rng } from '@adapterkit/core';
import { isLmHead } from '../heads/config';
import { forwardWithHeads, type HeadsForwardResult } from '../heads/forward';
import type { PredictionHead } from '../heads/head';
import { getHeads } from '../heads/registry';
import { IGNORE_INDEX } from '../losses';
import { collate, isChoiceExample, type Batch, type LabelKind, type TrainExample } from './data';
import { accuracy, macroF1, matthewsCorrelation, perplexity, type MetricName } from './metrics';
import { positiveInt } from './options';

/** A custom loss: called inside the gradient computation; must return a scalar. */
/** `ctx.rng`: the training forward's random source (pass it on as `forward(…, { training, rng })`). */
export type LossFn = (model: AdapterModel, batch: Batch, ctx: { readonly training: boolean; readonly rng?: Rng }) => tf.Scalar;

/** How examples are scored: by a head, or by a custom loss. Shared by {@link evaluate} and `train`. */
export interface ScoringOptions {
  /** Head that computes logits and loss (default: the active head). Ignored with `lossFn`. */
  readonly head?: string;
  /** Custom loss instead of a head's loss (metrics are then `loss` only, plus `perplexity` if asked). */
  readonly lossFn?: LossFn;
  /** Label layout (default: the head's, else inferred from the first example). */
  readonly labelKind?: LabelKind;
  /** Metrics (default by head type: classification/tagging loss, accuracy, f1, mcc; LM loss, perplexity). */
  readonly metrics?: readonly MetricName[];
  /** Padding id (default: the host config's `pad_token_id`, else 0). */
  readonly padTokenId?: number;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions extends ScoringOptions {
  /** Default 8. */
  readonly batchSize?: number;
}

/** {@link ScoringOptions} resolved against a model: the head (if any), label layout, metrics and padding id. */
export interface Scoring {
  readonly headName?: string;
  readonly head?: PredictionHead;
  readonly lossFn?: LossFn;
  readonly labelKind: LabelKind;
  readonly metrics: readonly MetricName[];
  readonly padTokenId: number;
}

/**
 * Resolve {@link ScoringOptions} once: the head (`options.head`, else the one active head; none with `lossFn`),
 * how labels are laid out (from the head, else from `first`) and the default metrics. `caller` names the API in
 * the error thrown when there is no head and no loss function.
 */
export function resolveScoring(model: AdapterModel, o: ScoringOptions, first: TrainExample | undefined, caller: string): Scoring {
  let headName: string | undefined;
  const heads = getHeads(model);
  if (!o.lossFn) {
    const active = heads.activeHead;
    headName = o.head ?? (active?.kind === 'single' ? active.names[0] : undefined);
    if (headName === undefined) {
      throw new AdapterStateError('NO_ACTIVE_HEAD', `${caller} needs a head (options.head or one active head; have: ${heads.names().join(', ') || 'none'}) or a lossFn`);
    }
  }
  const head = headName !== undefined ? heads.require(headName) : undefined;
  const labelKind = o.labelKind ?? labelKindOf(head, first);
  return {
    ...(headName !== undefined ? { headName } : {}),
    ...(head ? { head } : {}),
    ...(o.lossFn ? { lossFn: o.lossFn } : {}),
    labelKind,
    metrics: o.metrics ?? defaultMetrics(head, labelKind),
    padTokenId: o.padTokenId ?? (model.host as { config?: { padTokenId?: number | null } }).config?.padTokenId ?? 0,
  };
}

/** The scoring head's forward with labels; throws when the batch has none (loss present). */
export function headForward(model: AdapterModel, s: Scoring, batch: Batch, training: boolean, rng?: Rng): HeadsForwardResult & { loss: tf.Scalar } {
  const r = forwardWithHeads(model, batch.inputs, { head: s.headName!, ...(batch.labels ? { labels: batch.labels } : {}), training, ...(rng ? { rng } : {}) });
  if (!r.loss) throw new AdapterKitError('BAD_EXAMPLE', 'training and evaluation examples need labels');
  return r as HeadsForwardResult & { loss: tf.Scalar };
}

/** The scalar loss of a batch: the custom loss if set, else the head's. */
export function batchLoss(model: AdapterModel, s: Scoring, batch: Batch, training: boolean, rng?: Rng): tf.Scalar {
  return s.lossFn ? s.lossFn(model, batch, { training, ...(rng ? { rng } : {}) }) : headForward(model, s, batch, training, rng).loss;
}

/**
 * Score examples in order, `batchSize` at a time, without dropout: the mean loss per label item (example, or token
 * for tagging / LM), and accuracy, macro-F1 and Matthews correlation over predictions (argmax; logits > 0 for
 * multi-label; tagging counts labelled, unpadded tokens only) or perplexity, as `s.metrics` asks. One `tf.tidy`
 * per batch, read asynchronously: no tensor outlives the call.
 */
export async function scoreExamples(model: AdapterModel, data: readonly TrainExample[], s: Scoring, batchSize: number): Promise<Record<string, number>> {
  let lossSum = 0;
  let weightSum = 0;
  const preds: number[] = [];
  const golds: number[] = [];
  const lm = s.head !== undefined && isLmHead(s.head.config.headType);
  for (let start = 0; start < data.length; start += batchSize) {
    const batch = collate(data.slice(start, start + batchSize), s.padTokenId, s.labelKind);
    // compute in one tidy, read asynchronously (GPU backends cannot read synchronously)
    const scored = tf.tidy(() => {
      const r = s.lossFn ? undefined : headForward(model, s, batch, false);
      const loss = r ? r.loss : batchLoss(model, s, batch, false);
      if (!r || !batch.labels || s.labelKind === 'regression' || lm) return { loss };
      return { loss, pred: s.labelKind === 'multi' ? tf.cast(tf.greater(r.logits, 0), 'int32') : tf.argMax(r.logits, -1) };
    });
    try {
      lossSum += (await scored.loss.data())[0]! * batch.weight;
      weightSum += batch.weight;
      if (scored.pred && batch.labels) {
        const pv = await scored.pred.data();
        const lv = await batch.labels.data();
        const mv = s.labelKind === 'token' ? await batch.inputs.attentionMask!.data() : undefined;
        for (let i = 0; i < lv.length; i++) {
          if (s.labelKind === 'token' && (lv[i] === IGNORE_INDEX || mv![i] !== 1)) continue;
          preds.push(pv[i]!);
          golds.push(lv[i]!);
        }
      }
    } finally {
      tf.dispose([scored.loss, ...(scored.pred ? [scored.pred] : [])]);
      tf.dispose([...Object.values(batch.inputs).filter((t): t is tf.Tensor => t instanceof tf.Tensor), ...(batch.labels ? [batch.labels] : [])]);
    }
  }
  const meanLoss = lossSum / Math.max(1, weightSum);
  const out: Record<string, number> = {};
  for (const m of s.metrics) {
    if (m === 'loss') out[m] = meanLoss;
    else if (m === 'perplexity') out[m] = perplexity(meanLoss);
    else {
      if (golds.length === 0) throw new AdapterKitError('BAD_TRAIN_OPTIONS', `metric '${m}' needs a classification or tagging head`);
      out[m] = m === 'accuracy' ? accuracy(preds, golds) : m === 'f1' ? macroF1(preds, golds) : matthewsCorrelation(preds, golds);
    }
  }
  return out;
}

/**
 * Evaluate a model with its head (or a custom loss) on examples, exactly as `train` evaluates `evalData`: returns
 * the requested metrics by name (`loss`, `accuracy`, `f1`, `mcc`, `perplexity`). Inputs are batched as
 * `[batch, seq]`; dropout is off; the model is not changed. Reads tensors asynchronously (works on GPU backends).
 *
 * @example await evaluate(model, testData, { head: 'sst-2', batchSize: 32 }) // { loss, accuracy, f1, mcc }
 */
export async function evaluate(model: AdapterModel, data: readonly TrainExample[], options: EvaluateOptions = {}): Promise<Record<string, number>> {
  if (data.length === 0) throw new AdapterKitError('BAD_TRAIN_OPTIONS', 'evaluate() needs at least one example');
  const batchSize = positiveInt(options.batchSize, 'batchSize', 8);
  return scoreExamples(model, data, resolveScoring(model, options, data[0], 'evaluate()'), batchSize);
}

/** How a head lays out labels; without a head, inferred from an example. */
function labelKindOf(head: PredictionHead | undefined, first: TrainExample | undefined): LabelKind {
  if (head) {
    const c = head.config;
    if (c.headType === 'classification') return c.numLabels === 1 ? 'regression' : 'class';
    if (c.headType === 'multilabel_classification') return 'multi';
    if (c.headType === 'multiple_choice') return 'choice';
    return 'token';
  }
  if (first && isChoiceExample(first)) return 'choice';
  if (!first || typeof first.labels === 'number') return 'class';
  return Array.isArray(first.labels) && first.labels.length === first.inputIds.length ? 'token' : 'multi';
}

function defaultMetrics(head: PredictionHead | undefined, kind: LabelKind): MetricName[] {
  if (!head) return ['loss'];
  if (isLmHead(head.config.headType)) return ['loss', 'perplexity'];
  if (kind === 'regression') return ['loss'];
  if (kind === 'multi') return ['loss', 'accuracy', 'f1'];
  if (kind === 'choice') return ['loss', 'accuracy'];
  return ['loss', 'accuracy', 'f1', 'mcc'];
}
