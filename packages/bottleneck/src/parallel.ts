import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, type ModelOutputs } from '@adapterkit/core';

/**
 * Split the outputs of a forward under `Parallel(c₁, …, c_n)` into one set per channel: every output tensor has
 * `n × batch` rows, channel i being rows `[i·batch, (i+1)·batch)`. Returns new tensors (the caller disposes them
 * and still owns `outputs`).
 */
export function splitParallelOutputs(outputs: ModelOutputs, n: number): ModelOutputs[] {
  const rows = outputs.lastHiddenState.shape[0];
  if (!Number.isInteger(n) || n < 1 || rows % n !== 0) {
    throw new AdapterStateError('BAD_PARALLEL_BATCH', `Cannot split outputs of batch ${rows} into ${n} parallel channels`);
  }
  const parts = <T extends tf.Tensor>(t: T | undefined): T[] | undefined => (t ? (tf.split(t, n, 0) as T[]) : undefined);
  const hidden = parts(outputs.lastHiddenState)!;
  const pooler = parts(outputs.poolerOutput);
  const logits = parts(outputs.logits);
  return hidden.map((lastHiddenState, i) => ({
    lastHiddenState,
    ...(pooler ? { poolerOutput: pooler[i]! } : {}),
    ...(logits ? { logits: logits[i]! } : {}),
  }));
}
