/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (float64), for the truncated SVD of
 * `lora_delta_w_svd` (tfjs-core has no SVD). Returns eigenvalues in descending order and the matching unit
 * eigenvectors as columns of `vectors` (row-major `n × n`). Cost O(n³) per sweep.
 */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y]! - m[x * n + x]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((col, j) => {
    for (let k = 0; k < n; k++) vectors[k * n + j] = v[k * n + col]!;
  });
  return { values, vectors };
}

/**
 * Rank-`k` factors of `ΔW` (row-major `out × in`) as `adapters`' `lora_delta_w_svd` splits them: with
 * `ΔW = U·S·Vᵀ`, `A = V_kᵀ` `[k, in]` and `B = U_k·S_k = ΔW·V_k` `[out, k]`. `B·A` is the best rank-k
 * approximation of ΔW (exactly ΔW when k ≥ its rank). V comes from the eigenvectors of `ΔWᵀ·ΔW`.
 */
export function truncatedSvdFactors(dw: Float64Array, out: number, inDim: number, k: number): { A: Float32Array; B: Float32Array } {
  const gram = new Float64Array(inDim * inDim);
  for (let i = 0; i < inDim; i++) {
    for (let j = i; j < inDim; j++) {
      let s = 0;
      for (let o = 0; o < out; o++) s += dw[o * inDim + i]! * dw[o * inDim + j]!;
      gram[i * inDim + j] = s;
      gram[j * inDim + i] = s;
    }
  }
  const { vectors } = symmetricEigen(gram, inDim);
  const A = new Float32Array(k * inDim);
  for (let r = 0; r < k; r++) for (let i = 0; i < inDim; i++) A[r * inDim + i] = vectors[i * inDim + r]!;
  const B = new Float32Array(out * k);
  for (let o = 0; o < out; o++) {
    for (let r = 0; r < k; r++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += dw[o * inDim + i]! * vectors[i * inDim + r]!;
      B[o * k + r] = s;
    }
  }
  return { A, B };
}
