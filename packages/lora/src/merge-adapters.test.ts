import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, AdapterConfigError, Rng, init, type ModelInputs } from '@adapterkit/core';
import { initHost } from '@adapterkit/models';
import { maxAbsDiff } from '@adapterkit/testkit';
import { describe, expect, it } from 'vitest';
import { averageLoRAAdapter, mergeAdapters, plugins } from './index';
import { dareLinear, disjointMerge, magnitudePrune, majoritySignMask, randomPrune, taskArithmetic, ties } from './merge-utils';
import { symmetricEigen, truncatedSvdFactors } from './svd';

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync()).map((x) => Math.round(x * 1e6) / 1e6);

describe('PEFT merge_utils, hand-computed', () => {
  const t1 = tf.tensor1d([3, -1, 0.5, -4]);
  const t2 = tf.tensor1d([-2, 2, 1, -1]);
  const t3 = tf.tensor1d([1, -3, -0.5, 2]);

  it('task arithmetic: Σ w_i t_i', () => {
    expect(arr(taskArithmetic([t1, t2], [1, 0.5]))).toEqual([2, 0, 1, -4.5]);
  });

  it('magnitude pruning keeps floor(density·n) largest |entries|; density >= 1 keeps all', () => {
    expect(arr(magnitudePrune(t1, 0.5))).toEqual([3, 0, 0, -4]);
    expect(arr(magnitudePrune(t1, 0.3))).toEqual([0, 0, 0, -4]); // floor(1.2) = 1
    expect(arr(magnitudePrune(t1, 1))).toEqual([3, -1, 0.5, -4]);
    expect(() => magnitudePrune(t1, -0.1)).toThrow(AdapterConfigError);
  });

  it("majority sign: 'total' = sign of Σ t, 'frequency' = sign of Σ sign(t); 0 counts as +", () => {
    const s = tf.stack([t1, t2, t3]);
    // Σ t = [2, -2, 1, -3]; Σ sign = [1, -1, 1, -1]
    expect(arr(majoritySignMask(s, 'total'))).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]);
    const s2 = tf.stack([tf.tensor1d([5, 1]), tf.tensor1d([-1, -1]), tf.tensor1d([-1, 0])]);
    // total: [3, 0] → [+, +]; frequency: [-1, 0] → [−, +]
    expect(arr(majoritySignMask(s2, 'total'))).toEqual([1, 1, 0, 0, 0, 0]);
    expect(arr(majoritySignMask(s2, 'frequency'))).toEqual([0, 1, 1, 0, 1, 0]);
  });

  it('disjoint merge averages the agreeing entries (count clamped to 1)', () => {
    const w = tf.stack([tf.tensor1d([2, 4]), tf.tensor1d([6, -4])]);
    const m = tf.stack([tf.tensor1d([1, 0]), tf.tensor1d([1, 0])]);
    expect(arr(disjointMerge(w, m))).toEqual([4, 0]);
  });

  it('TIES: prune to density, elect sign on the pruned tensors, average the weighted agreeing entries', () => {
    // density 0.5: t1 → [3,0,0,-4], t2 → [-2,2,0,0]; Σ = [1,2,0,-4] → signs [+,+,+,−]
    // weighted (w = [1, 2]): [3,0,0,-4], [-4,4,0,0]; agreeing: e0 {3}, e1 {4}, e2 none (zeros have sign 0), e3 {-4}
    expect(arr(ties([t1, t2], [1, 2], 0.5, 'total'))).toEqual([3, 4, 0, -4]);
  });

  it('DARE: a Bernoulli(density) mask; PEFT 0.14 does not rescale (its division is discarded)', () => {
    const ones = tf.ones([2000]);
    const kept = randomPrune(ones, 0.3, new Rng(1), false);
    const frac = tf.mean(kept).dataSync()[0]!;
    expect(frac).toBeGreaterThan(0.25);
    expect(frac).toBeLessThan(0.35);
    expect(new Set(arr(kept))).toEqual(new Set([0, 1]));
    expect(new Set(arr(randomPrune(ones, 0.5, new Rng(1), true)))).toEqual(new Set([0, 2]));
    // same seed → same masks: dare_linear = Σ w_i (mask_i ⊙ t_i)
    const a = dareLinear([t1, t2], [1, 1], 0.5, new Rng(4), false);
    const r = new Rng(4);
    const m1 = randomPrune(t1, 0.5, r, false);
    const m2 = randomPrune(t2, 0.5, r, false);
    expect(arr(a)).toEqual(arr(tf.add(m1, m2)));
  });
});

describe('SVD helpers', () => {
  it('symmetricEigen diagonalises [[2,1],[1,2]] → 3, 1', () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(Array.from(values).map((x) => Math.round(x * 1e9) / 1e9)).toEqual([3, 1]);
    expect(Math.abs(vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 9);
  });

  it('truncatedSvdFactors: B·A = ΔW at full rank, the best rank-1 approximation at k = 1', () => {
    // ΔW = diag(3, 1) in a rotated basis: rank-1 keeps the 3-direction
    const dw = Float64Array.from([3, 0, 0, 0, 1, 0]); // [2, 3]
    const full = truncatedSvdFactors(dw, 2, 3, 2);
    const prod = (f: { A: Float32Array; B: Float32Array }, k: number): number[] => {
      const out: number[] = [];
      for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) out.push(Math.round(Array.from({ length: k }, (_, r) => f.B[o * k + r]! * f.A[r * 3 + i]!).reduce((a, b) => a + b, 0) * 1e6) / 1e6);
      return out;
    };
    expect(prod(full, 2)).toEqual([3, 0, 0, 0, 1, 0]);
    expect(prod(truncatedSvdFactors(dw, 2, 3, 1), 1)).toEqual([3, 0, 0, 0, 0, 0]);
  });
});

describe('mergeAdapters / averageLoRAAdapter on a tiny BERT', () => {
  const cfg = { model_type: 'bert', vocab_size: 64, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32 };
  const batch = (): ModelInputs => ({ inputIds: tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 0]], [2, 4], 'int32') });
  const randomise = (model: AdapterModel, name: string, seed: number): void => {
    const rng = new Rng(seed);
    for (const p of model.adapterParams(name)) {
      const t = init.normal(rng, [...p.variable.shape], 0.2);
      p.variable.assign(t);
      t.dispose();
    }
  };
  const value = (model: AdapterModel, name: string, suffix: string): tf.Variable =>
    model.adapterParams(name).find((p) => p.key === `encoder.layer.0.attention.self.query.loras.${name}.${suffix}`)!.variable;

  it('linear: A and B get √(w·α/r)-weighted sums and the result has alpha = r (scaling 1), as PEFT', () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('x', 'lora[r=2,alpha=8]'); // scaling 4
    model.addAdapter('y', 'lora[r=2,alpha=8]');
    randomise(model, 'x', 1);
    randomise(model, 'y', 2);
    mergeAdapters(model, 'm', ['x', 'y'], [1, 0.25]);
    const config = model.requireAdapter('m').members[0]!.config as unknown as { r: number; alpha: number };
    expect([config.r, config.alpha]).toEqual([2, 2]);
    for (const s of ['lora_A', 'lora_B']) {
      const want = tf.tidy(() => tf.add(tf.mul(value(model, 'x', s), 2), tf.mul(value(model, 'y', s), 1))); // √(1·4)=2, √(0.25·4)=1
      expect(maxAbsDiff(value(model, 'm', s), want)).toBeLessThan(1e-6);
      want.dispose();
    }
    // one adapter with weight 1 reproduces it exactly
    mergeAdapters(model, 'one', ['x'], [1], { combinationType: 'ties', density: 0.1, setActive: true });
    const inputs = batch();
    const merged = model.forward(inputs).lastHiddenState;
    model.setActiveAdapters('x');
    const orig = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(merged, orig)).toBeLessThan(1e-5);
    tf.dispose([merged, orig, inputs.inputIds]);
    model.dispose();
  });

  it('ties / magnitude_prune / dare_* need a density; negative weights and DoRA are refused', () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('x', 'lora[r=2]');
    model.addAdapter('y', 'lora[r=2]');
    model.addAdapter('d', 'lora[r=2,use_dora=True]');
    expect(() => mergeAdapters(model, 'm', ['x', 'y'], [1, 1], { combinationType: 'ties' })).toThrow(/needs a density/);
    expect(() => mergeAdapters(model, 'm', ['x', 'y'], [1, -1])).toThrow(/√\(weight × scaling\)/);
    expect(() => mergeAdapters(model, 'm', ['x', 'd'], [1, 1])).toThrow(/plain LoRA/);
    mergeAdapters(model, 'mp', ['x', 'y'], [1, 1], { combinationType: 'magnitude_prune', density: 0.5 });
    const A = value(model, 'mp', 'lora_A');
    const nonzero = tf.sum(tf.cast(tf.notEqual(A, 0), 'float32')).dataSync()[0]!;
    expect(nonzero).toBeLessThanOrEqual(A.size); // each source keeps half; their union is at most everything
    expect(nonzero).toBeGreaterThanOrEqual(A.size / 2);
    expect(model.hasAdapter('m')).toBe(false);
    model.dispose();
  });

  it("averageLoRAAdapter 'lora_delta_w_svd': B·A of the result equals Σ λ_i B_i·A_i at full rank, with α/r kept", () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('x', 'lora[r=2,alpha=4]');
    model.addAdapter('y', 'lora[r=2,alpha=4]');
    randomise(model, 'x', 5);
    randomise(model, 'y', 6);
    averageLoRAAdapter(model, 's', ['x', 'y'], [1, 3], { combineStrategy: 'lora_delta_w_svd', svdRank: 4 });
    const c = model.requireAdapter('s').members[0]!.config as unknown as { r: number; alpha: number };
    expect([c.r, c.alpha]).toEqual([4, 8]);
    const dw = (n: string): tf.Tensor => tf.matMul(value(model, n, 'lora_A'), value(model, n, 'lora_B'));
    const want = tf.tidy(() => tf.add(tf.mul(dw('x'), 0.25), tf.mul(dw('y'), 0.75)));
    const got = dw('s');
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    expect(() => averageLoRAAdapter(model, 'z', ['x', 'y'], undefined, { combineStrategy: 'lora_delta_w_svd' })).toThrow(/svdRank/);
    tf.dispose([want, got]);
    model.dispose();
  });
});
