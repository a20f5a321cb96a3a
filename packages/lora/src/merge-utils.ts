import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, type Rng } from '@adapterkit/core';

/**
 * PEFT 0.14 `peft/utils/merge_utils.py`, on tfjs tensors. Every function takes the task tensors of one parameter
 * (same shape) and one weight per tensor.
 */

/** How the majority sign of TIES is elected: by the summed values (`total`) or by counting signs (`frequency`). */
export type MajoritySignMethod = 'total' | 'frequency';

/** `Σ w_i t_i` (`task_arithmetic`). */
export function taskArithmetic(tensors: readonly tf.Tensor[], weights: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.addN(tensors.map((t, i) => tf.mul(t, weights[i]!))));
}

function checkDensity(density: number): void {
  if (!(density >= 0)) throw new AdapterConfigError('BAD_MERGE', `density must be >= 0, got ${density}`);
}

/**
 * Keep the `floor(density · size)` entries of largest magnitude, zero the rest (`magnitude_based_pruning`; ties
 * between equal magnitudes keep the lower index). `density >= 1` keeps everything.
 */
export function magnitudePrune(t: tf.Tensor, density: number): tf.Tensor {
  checkDensity(density);
  if (density >= 1) return tf.clone(t);
  const data = t.dataSync();
  const k = Math.floor(density * data.length);
  const order = Array.from(data.keys()).sort((a, b) => Math.abs(data[b]!) - Math.abs(data[a]!) || a - b);
  const out = new Float32Array(data.length);
  for (let i = 0; i < k; i++) out[order[i]!] = data[order[i]!]!;
  return tf.tensor(out, t.shape);
}

/**
 * Keep each entry with probability `density` (`random_pruning`, a Bernoulli mask from `rng`: torch's stream cannot
 * be reproduced). With `rescale` the kept entries are divided by `density` (DARE's rescaling). PEFT 0.14 computes
 * that division but discards its result, so its DARE does **not** rescale: pass `rescale: false` to match it.
 * `density >= 1` keeps everything.
 */
export function randomPrune(t: tf.Tensor, density: number, rng: Rng, rescale: boolean): tf.Tensor {
  checkDensity(density);
  if (density >= 1) return tf.clone(t);
  const data = t.dataSync();
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) if (rng.next() < density) out[i] = rescale ? data[i]! / density : data[i]!;
  return tf.tensor(out, t.shape);
}

/**
 * TIES' elected sign mask (`calculate_majority_sign_mask`) over stacked tensors `[n, ...]`: the sign of the summed
 * values (`total`) or of the summed signs (`frequency`), `+1` where that is 0; true where an entry has that sign.
 */
export function majoritySignMask(stacked: tf.Tensor, method: MajoritySignMethod): tf.Tensor {
  return tf.tidy(() => {
    const sign = tf.sign(stacked);
    const magnitude = method === 'total' ? tf.sum(stacked, 0) : tf.sum(sign, 0);
    const majority = tf.where(tf.greaterEqual(magnitude, 0), tf.onesLike(magnitude), tf.neg(tf.onesLike(magnitude)));
    return tf.cast(tf.equal(sign, majority), 'float32');
  });
}

/** `Σ_i t_i·mask_i / max(Σ_i mask_i, 1)` (`disjoint_merge`) over stacked `[n, ...]`. */
export function disjointMerge(weighted: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(weighted, mask), 0), tf.maximum(tf.sum(mask, 0), 1)));
}

function weightedStack(tensors: readonly tf.Tensor[], weights: readonly number[]): tf.Tensor {
  return tf.stack(tensors.map((t, i) => tf.mul(t, weights[i]!)));
}

/** TIES (Yadav et al. 2023): magnitude-prune each tensor, elect signs, average the agreeing weighted entries. */
export function ties(tensors: readonly tf.Tensor[], weights: readonly number[], density: number, method: MajoritySignMethod): tf.Tensor {
  return tf.tidy(() => {
    const pruned = tensors.map((t) => magnitudePrune(t, density));
    const mask = majoritySignMask(tf.stack(pruned), method);
    return disjointMerge(weightedStack(pruned, weights), mask);
  });
}

/** DARE-linear (Yu et al. 2024): random pruning, then `Σ w_i t_i`. */
export function dareLinear(tensors: readonly tf.Tensor[], weights: readonly number[], density: number, rng: Rng, rescale: boolean): tf.Tensor {
  return tf.tidy(() => taskArithmetic(tensors.map((t) => randomPrune(t, density, rng, rescale)), weights));
}

/** DARE-TIES: random pruning, then TIES' sign election and disjoint merge. */
export function dareTies(tensors: readonly tf.Tensor[], weights: readonly number[], density: number, method: MajoritySignMethod, rng: Rng, rescale: boolean): tf.Tensor {
  return tf.tidy(() => {
    const pruned = tensors.map((t) => randomPrune(t, density, rng, rescale));
    const mask = majoritySignMask(tf.stack(pruned), method);
    return disjointMerge(weightedStack(pruned, weights), mask);
  });
}

/** Magnitude pruning of each tensor, then `Σ w_i t_i` (`magnitude_prune`). */
export function magnitudePruneMerge(tensors: readonly tf.Tensor[], weights: readonly number[], density: number): tf.Tensor {
  return tf.tidy(() => taskArithmetic(tensors.map((t) => magnitudePrune(t, density)), weights));
}
