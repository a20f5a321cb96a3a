import * as tf from '@tensorflow/tfjs-core';
import type { SublayerPayload } from './points';

/**
 * The terminal of the sub-layer points: `layerNorm(hidden + residual)` on post-LN hosts, `hidden + residual`
 * on pre-LN hosts, or `hidden` unchanged when a handler set `skipAddNorm`. Shapes `[batch, seq, hidden]`.
 */
export function addAndNorm(p: SublayerPayload): tf.Tensor3D {
  if (p.skipAddNorm) return p.hidden;
  const sum = tf.add(p.hidden, p.residual) as tf.Tensor3D;
  return p.layerNorm ? (p.layerNorm(sum) as tf.Tensor3D) : sum;
}
