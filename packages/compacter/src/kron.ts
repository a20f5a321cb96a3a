import * as tf from '@tensorflow/tfjs-core';
import { WeightsMismatchError, linear } from '@adapterkit/core';

/**
 * The PHM weight `H = Σ_i S_i ⊗ W_i` (reference §3.6) with the reference's Kronecker convention
 * `(S ⊗ W)[p·A + a, q·B + b] = S[p, q] · W[a, b]`.
 *
 * `rule` S is `[n, n, n]` (S_i = `rule[i]`), `W` is `[n, A, B]` (W_i = `W[i]`); the result is `[n·A, n·B]`, used as
 * `y = x·H + b` (no transpose). Computed as one matmul `Sᵀ[(p,q), i] · W[i, (a,b)]` and a transpose, so gradients
 * use core's fast `linear`. Intermediates are freed; the caller owns the result.
 */
export function phmWeight(rule: tf.Tensor, W: tf.Tensor): tf.Tensor2D {
  const n = rule.shape[0]!;
  if (rule.rank !== 3 || rule.shape[1] !== n || rule.shape[2] !== n) {
    throw new WeightsMismatchError('BAD_PHM_SHAPE', `phmWeight: rule must be [n, n, n], got [${rule.shape.join(', ')}]`);
  }
  if (W.rank !== 3 || W.shape[0] !== n) {
    throw new WeightsMismatchError('BAD_PHM_SHAPE', `phmWeight: W must be [n, A, B] with n = ${n} (from the rule), got [${W.shape.join(', ')}]`);
  }
  const [, A, B] = W.shape as [number, number, number];
  return tf.tidy(() => {
    const s = tf.transpose(tf.reshape(rule, [n, n * n])) as tf.Tensor2D; // [(p, q), i]
    const m = linear(s, tf.reshape(W, [n, A * B]) as tf.Tensor2D); // [(p, q), (a, b)]
    return tf.reshape(tf.transpose(tf.reshape(m, [n, n, A, B]), [0, 2, 1, 3]), [n * A, n * B]) as tf.Tensor2D;
  });
}

/**
 * Batched product of factors with a small inner dimension: `left [n, A, k] @ right [n, k, B]` → `[n, A, B]`
 * (the reference's `torch.bmm` of factorised PHM weights `W_left @ W_right` and rules `phm_rule_left @
 * phm_rule_right`). Uses broadcast multiply-and-sum (k is the PHM rank, usually 1), whose gradients are
 * elementwise and fast on every backend.
 */
export function factorProduct(left: tf.Tensor, right: tf.Tensor): tf.Tensor3D {
  const [n, A, k] = left.shape as [number, number, number];
  const B = right.shape[2]!;
  if (left.rank !== 3 || right.rank !== 3 || right.shape[0] !== n || right.shape[1] !== k) {
    throw new WeightsMismatchError('BAD_PHM_SHAPE', `factorProduct: expected [n, A, k] @ [n, k, B], got [${left.shape.join(', ')}] @ [${right.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    if (k === 1) return tf.mul(left, right) as tf.Tensor3D; // [n, A, 1] · [n, 1, B]
    return tf.sum(tf.mul(tf.reshape(left, [n, A, k, 1]), tf.reshape(right, [n, 1, k, B])), 2) as tf.Tensor3D;
  });
}
