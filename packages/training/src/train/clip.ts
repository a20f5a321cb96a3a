import * as tf from '@tensorflow/tfjs-core';

/**
 * Global-norm clipping as `torch.nn.utils.clip_grad_norm_`: `norm = √Σ‖g‖²`, every gradient is multiplied by
 * `min(1, maxNorm / (norm + 1e-6))`. `maxNorm` of Infinity (or ≤ 0) only measures. Returns new tensors (call
 * inside `tf.tidy`).
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  if (!(maxNorm > 0) || maxNorm === Infinity) return { grads: [...grads], norm };
  const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => tf.mul(g, coef)), norm };
}
