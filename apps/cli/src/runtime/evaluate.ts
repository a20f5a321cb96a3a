import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { accuracy, collate, forwardWithHeads, getHeads, IGNORE_INDEX, isLmHead, macroF1, perplexity, type Example, type LabelKind } from '@adapterkit/training';

/** Metrics of {@link evaluate}. */
export type EvalMetrics = {
  /** Mean loss per label item (example, or token for tagging / LM). */
  readonly loss: number;
  readonly accuracy?: number;
  /** Macro-averaged F1. */
  readonly f1?: number;
  readonly perplexity?: number;
  readonly examples: number;
};

/** How a head's labels are laid out. */
function labelKindOf(model: AdapterModel, head: string): LabelKind {
  const c = getHeads(model).require(head).config;
  if (c.headType === 'classification') return c.numLabels === 1 ? 'regression' : 'class';
  if (c.headType === 'multilabel_classification') return 'multi';
  return 'token';
}

/**
 * Evaluate a head on tokenized examples: mean loss, plus accuracy and macro-F1 (classification, tagging: over
 * labelled, unpadded tokens) or perplexity (LM heads). No dropout; memory stays flat (one `tf.tidy` per batch).
 */
export function evaluate(model: AdapterModel, head: string, data: readonly Example[], options: { batchSize: number; padTokenId: number }): EvalMetrics {
  const kind = labelKindOf(model, head);
  const lm = isLmHead(getHeads(model).require(head).config.headType);
  let lossSum = 0;
  let weightSum = 0;
  const preds: number[] = [];
  const golds: number[] = [];
  for (let start = 0; start < data.length; start += options.batchSize) {
    tf.tidy(() => {
      const batch = collate(data.slice(start, start + options.batchSize), options.padTokenId, kind);
      const r = forwardWithHeads(model, batch.inputs, { head, ...(batch.labels ? { labels: batch.labels } : {}) });
      lossSum += r.loss!.dataSync()[0]! * batch.weight;
      weightSum += batch.weight;
      if (lm || kind === 'regression' || kind === 'multi') return;
      const p = tf.argMax(r.logits, -1).dataSync();
      const l = batch.labels!.dataSync();
      const m = batch.inputs.attentionMask!.dataSync();
      for (let i = 0; i < l.length; i++) {
        if (kind === 'token' && (l[i] === IGNORE_INDEX || m[i] !== 1)) continue;
        preds.push(p[i]!);
        golds.push(l[i]!);
      }
    });
  }
  const loss = lossSum / Math.max(1, weightSum);
  if (lm) return { loss, perplexity: perplexity(loss), examples: data.length };
  if (golds.length === 0) return { loss, examples: data.length };
  return { loss, accuracy: accuracy(preds, golds), f1: macroF1(preds, golds), examples: data.length };
}

/** `loss 0.4123  accuracy 0.8750  f1 0.8571` */
export function formatMetrics(m: Readonly<Record<string, number | undefined>>): string {
  return ['loss', 'accuracy', 'f1', 'mcc', 'perplexity']
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k} ${k === 'perplexity' ? m[k]!.toFixed(2) : m[k]!.toFixed(4)}`)
    .join('  ');
}
