import * as tf from '@tensorflow/tfjs-core';
import { getActivation, type ModelOutputs } from '@adapterkit/core';
import type { HeadModule, PredictionHead } from '@adapterkit/training';

/** Head types whose logits depend only on their row's first token (or pooler output): one row in, one row out. */
const ROW_HEAD_TYPES: ReadonlySet<string> = new Set(['classification', 'multilabel_classification']);

/** The inference modules of a head (dropout is the identity there), or undefined when one is not linear/activation. */
function inferenceModules(head: PredictionHead): HeadModule[] | undefined {
  const mods = head.modules.filter((m) => m.kind !== 'dropout');
  return mods.every((m) => m.kind === 'linear' || m.kind === 'activation') ? mods : undefined;
}

/** What must agree between heads for their rows to share one pass: type, input, and every module but its parameters. */
function signature(head: PredictionHead): string | undefined {
  if (!ROW_HEAD_TYPES.has(head.config.headType)) return undefined;
  const mods = inferenceModules(head);
  if (!mods) return undefined;
  const shape = mods.map((m) => (m.kind === 'linear' ? `L${m.inFeatures}x${m.outFeatures}${m.bias ? 'b' : ''}` : m.kind === 'activation' ? `A${m.name}` : ''));
  return `${head.config.headType}|${head.config.usePooler === true ? 'pooler' : 'cls'}|${shape.join(',')}`;
}

/**
 * Logits of classification heads of several adapters over one batch in a constant number of ops: each linear
 * layer's weight and bias are gathered per row (stacked `[batch, in, out]`, `[batch, 1, out]`, as LoRA's gathered
 * path does) and applied by one batched product, instead of one slice and one head forward per adapter.
 * Inference only (dropout is skipped, as `PredictionHead.forward` does without `training`).
 *
 * @param heads the head of each group of consecutive rows.
 * @param sizes rows per group, summing to the batch.
 * @param outputs the model outputs of the whole batch: `lastHiddenState` `[batch, seq, hidden]`, and
 *   `poolerOutput` `[batch, hidden]` for heads with `use_pooler`.
 * @returns logits `[batch, num_labels]` (row i from its group's head), or `undefined` when the heads cannot share a
 *   pass (other head types, different layer shapes or activations, layer norms, a parameter not found): run each
 *   head on its rows instead.
 */
export function rowHeadLogits(heads: readonly PredictionHead[], sizes: readonly number[], outputs: ModelOutputs): tf.Tensor2D | undefined {
  const first = heads[0];
  if (!first) return undefined;
  const sig = signature(first);
  if (sig === undefined || heads.some((h) => signature(h) !== sig)) return undefined;
  const mods = inferenceModules(first)!;
  const params = heads.map((h) => new Map(h.list().map((p) => [p.key, p.variable as tf.Tensor])));
  const param = (g: number, index: number, name: 'weight' | 'bias'): tf.Tensor | undefined => params[g]!.get(`heads.${heads[g]!.name}.${index}.${name}`);
  for (const m of mods) {
    if (m.kind !== 'linear') continue;
    if (heads.some((_, g) => param(g, m.index, 'weight') === undefined || (m.bias && param(g, m.index, 'bias') === undefined))) return undefined;
  }
  if (first.config.usePooler === true && !outputs.poolerOutput) return undefined; // each head reports it alone
  const rowGroup: number[] = sizes.flatMap((n, g) => Array.from({ length: n }, () => g));
  const batch = rowGroup.length;
  return tf.tidy(() => {
    let x: tf.Tensor;
    if (first.config.usePooler === true) {
      x = outputs.poolerOutput!;
    } else {
      const h = outputs.lastHiddenState;
      x = tf.slice(h, [0, 0, 0], [batch, 1, h.shape[2]]);
    }
    x = tf.reshape(x, [batch, 1, -1]);
    for (const m of mods) {
      if (m.kind === 'activation') {
        x = getActivation(m.name)(x);
        continue;
      }
      if (m.kind !== 'linear') continue;
      const w = tf.stack(rowGroup.map((g) => param(g, m.index, 'weight')!)); // [batch, in, out]
      x = tf.matMul(x as tf.Tensor3D, w as tf.Tensor3D);
      if (m.bias) x = tf.add(x, tf.reshape(tf.stack(rowGroup.map((g) => param(g, m.index, 'bias')!)), [batch, 1, m.outFeatures]));
    }
    return tf.reshape(x, [batch, -1]) as tf.Tensor2D;
  });
}
