import * as tf from '@tensorflow/tfjs-core';
import type { LoRAModule } from './module';

/**
 * Whether a module can take part in a {@link gatheredUpdate}: plain LoRA (add) or plain (IA)³ (scale), without
 * gating (its factor depends on the row's own gate) and without DoRA (it rescales by the base weight's norm).
 */
export function isGatherable(m: LoRAModule): boolean {
  return m.gateWeight === undefined && m.magnitude === undefined;
}

/**
 * The per-row LoRA / (IA)³ update of a row-routing block (BatchSplit, Parallel) in a constant number of ops,
 * whatever the number of children — Punica's BGMV ("batched gather matrix-vector"): each row's factors are
 * gathered into one stacked tensor and applied by one batched product, instead of one slice / matMul / concat per
 * child. Inference only (no dropout); the caller checks that no child is merged, gated or DoRA.
 *
 * - add (LoRA): with `R` the largest `r·slots` of the modules (smaller ranks zero-padded, which adds exact zeros),
 *   A gathered to `[batch, in, R]` and B to `[batch, R, out]`; `y + s_row · (x · A_row) · B_row`;
 * - scale ((IA)³): `ℓ·s` gathered to `[batch, 1, out]`; `y ⊙ (ℓ·s)_row`.
 *
 * Rows of a child without a module at this site (`undefined`) get no update.
 *
 * @param modules the module of each child at this site, in child order (`undefined`: none).
 * @param sizes rows per child (core's `blockRowSizes`), summing to `batch`.
 * @param x the projection input `[batch, seq, in]`.
 * @param y the frozen projection output `[batch, seq, out]` (bias included).
 * @returns the adapted output `[batch, seq, out]`, or `undefined` when the modules mix add and scale mode or one is
 *   not {@link isGatherable} (route rows per child instead).
 */
export function gatheredUpdate(modules: ReadonlyArray<LoRAModule | undefined>, sizes: readonly number[], x: tf.Tensor3D, y: tf.Tensor3D): tf.Tensor3D | undefined {
  const distinct: LoRAModule[] = [];
  for (const m of modules) if (m && !distinct.includes(m)) distinct.push(m);
  if (distinct.length === 0) return y;
  const mode = distinct[0]!.mode;
  if (distinct.some((m) => m.mode !== mode || !isGatherable(m))) return undefined;
  // slot of each child in the stack; children without a module share one neutral slot at the end
  const neutral = modules.some((m) => m === undefined) ? distinct.length : -1;
  const slot = modules.map((m) => (m ? distinct.indexOf(m) : neutral));
  const batch = y.shape[0];
  const rowSlot = new Int32Array(batch);
  let start = 0;
  sizes.forEach((size, i) => {
    rowSlot.fill(slot[i]!, start, start + size);
    start += size;
  });
  const out = y.shape[2];
  // one stacked row per batch row: tf.stack of the same tensor k times is a plain copy (a gather of a stacked
  // [K, …] tensor does the same work through an index walk that costs several times more on wasm)
  const perRow = <T extends tf.Tensor>(factors: readonly T[]): tf.Tensor => tf.stack(Array.from(rowSlot, (k) => factors[k]!));
  return tf.tidy(() => {
    if (mode === 'scale') {
      const vectors: tf.Tensor1D[] = distinct.map((m) => tf.mul(m.denseScale(), m.scaling));
      if (neutral >= 0) vectors.push(tf.ones([out]));
      return tf.mul(y, tf.reshape(perRow(vectors), [batch, 1, out])) as tf.Tensor3D;
    }
    const inDim = x.shape[2];
    const rank = Math.max(...distinct.map((m) => m.loraA!.shape[1]!));
    const As: tf.Tensor2D[] = [];
    const Bs: tf.Tensor2D[] = [];
    for (const m of distinct) {
      const a = m.loraA as tf.Tensor as tf.Tensor2D;
      const b = m.denseB();
      const pad = rank - a.shape[1];
      As.push(pad > 0 ? tf.pad(a, [[0, 0], [0, pad]]) : a);
      Bs.push(pad > 0 ? tf.pad(b, [[0, pad], [0, 0]]) : b);
    }
    if (neutral >= 0) {
      As.push(tf.zeros([inDim, rank]));
      Bs.push(tf.zeros([rank, out]));
    }
    const A = perRow(As) as tf.Tensor3D; // [batch, in, R]
    const B = perRow(Bs) as tf.Tensor3D; // [batch, R, out]
    const delta = tf.matMul(tf.matMul(x, A), B); // [batch, seq, out]
    const scalings = distinct.map((m) => m.scaling);
    const scale = scalings.every((s) => s === scalings[0])
      ? tf.scalar(scalings[0]!)
      : tf.tensor3d(Float32Array.from(rowSlot, (k) => scalings[k] ?? 0), [batch, 1, 1]);
    return tf.add(y, tf.mul(delta, scale)) as tf.Tensor3D;
  });
}
