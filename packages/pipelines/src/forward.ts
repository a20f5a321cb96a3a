import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel, ForwardOptions, ModelInputsLike } from '@adapterkit/core';

/** {@link forwardArrays}'s result: the model's outputs as nested plain arrays (no tensor to dispose). */
export interface ForwardArrays {
  /** `[batch][seq][hidden]` */
  readonly lastHiddenState: number[][][];
  /** `[batch][hidden]` (hosts with a pooler). */
  readonly poolerOutput?: number[][];
  /** `[batch][seq][vocab]` (with `lmLogits` on decoder hosts). */
  readonly logits?: number[][][];
}

/**
 * `model.forward(inputs, options)` with the outputs read back as plain arrays and every tensor freed: the
 * dispose-for-you variant of `AdapterModel.forward`, whose tensors belong to the caller. Inputs may be int32
 * `[batch, seq]` tensors or `number[][]` rows (e.g. `tokenizer.encodeBatch(texts)`).
 */
export function forwardArrays(model: AdapterModel, inputs: ModelInputsLike, options: ForwardOptions = {}): ForwardArrays {
  const out = model.forward(inputs, options);
  try {
    return {
      lastHiddenState: out.lastHiddenState.arraySync(),
      ...(out.poolerOutput ? { poolerOutput: out.poolerOutput.arraySync() } : {}),
      ...(out.logits ? { logits: out.logits.arraySync() } : {}),
    };
  } finally {
    disposeOutputs(out);
  }
}

/** Free every tensor of a result object (`model.forward`'s outputs, `forwardWithHeads`' result, …). */
export function disposeOutputs(outputs: object): void {
  const seen: tf.Tensor[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof tf.Tensor) seen.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(outputs);
  tf.dispose(seen);
}
