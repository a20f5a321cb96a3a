import * as tf from '@tensorflow/tfjs-core';

/**
 * The effective weight of torch's `nn.utils.parametrizations.orthogonal` on an `nn.Linear(in, r)` weight with the
 * default map for a non-square real matrix (`householder`) and `use_trivialization=True` — what the reference's
 * LoReFT projection stores as `parametrizations.weight.original` `[r, in]` and the buffer
 * `parametrizations.weight.0.base` `[in, in]`:
 *
 * 1. `X = originalᵀ` `[n = in, k = r]` (the weight is wide, so torch works on its transpose);
 * 2. Householder vectors `v_j = e_j + A[:, j]` with `A = tril(X, −1)`, `τ_j = 2 / (1 + ‖A[:, j]‖²)`;
 *    `Q = H_0 H_1 … H_{k−1} I[:, :k]`, `H_j = I − τ_j v_j v_jᵀ` (`torch.linalg.householder_product`);
 * 3. `Q ← Q · diag(X).int()` column-wise: the diagonal of X only carries signs and is truncated toward zero, so a
 *    diagonal entry in (−1, 1) zeroes its column (the reference's quirk; its generator keeps the diagonal at ±1);
 * 4. `Q ← base · Q`, and the weight is `Qᵀ` `[r, in]`, with orthonormal rows when the diagonal is ±1.
 *
 * Differentiable in `original` (the truncated diagonal has zero gradient, as in torch). Requires `r < in`.
 */
export function householderWeight(original: tf.Tensor2D, base: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [k, n] = original.shape;
    const X = tf.transpose(original) as tf.Tensor2D; // [n, k]
    const rows = tf.reshape(tf.range(0, n, 1, 'int32'), [n, 1]);
    const cols = tf.reshape(tf.range(0, k, 1, 'int32'), [1, k]);
    const below = tf.cast(tf.greater(rows, cols), 'float32'); // strictly lower triangle
    const unit = tf.cast(tf.equal(rows, cols), 'float32'); // I[:, :k]
    const A = tf.mul(X, below);
    const V = tf.add(A, unit) as tf.Tensor2D; // columns v_j
    const tau = tf.div(2, tf.add(1, tf.sum(tf.square(A), 0))) as tf.Tensor1D; // [k]
    // Q = H_0 (H_1 (… (H_{k-1} I[:, :k])))
    let Q: tf.Tensor2D = unit as tf.Tensor2D;
    for (let j = k - 1; j >= 0; j--) {
      const v = tf.slice(V, [0, j], [n, 1]) as tf.Tensor2D; // [n, 1]
      const t = tf.slice(tau, [j], [1]);
      const vtQ = tf.matMul(v, Q, true, false); // [1, k]
      Q = tf.sub(Q, tf.mul(t, tf.matMul(v, vtQ))) as tf.Tensor2D;
    }
    const diag = tf.sum(tf.mul(X, unit), 0); // X[j, j]
    const signs = tf.mul(tf.sign(diag), tf.floor(tf.abs(diag))); // .int(): truncation toward zero
    Q = tf.mul(Q, tf.reshape(signs, [1, k])) as tf.Tensor2D;
    return tf.transpose(tf.matMul(base, Q)) as tf.Tensor2D;
  });
}
