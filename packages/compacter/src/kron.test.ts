import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { init, linear, registerTrainingSupport, Rng, WeightsMismatchError } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { factorProduct, phmWeight } from './kron';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport(); // gradient functions (tfjs-core registers none)
});

/** H[p·A + a, q·B + b] = Σ_i S[i, p, q] · W[i, a, b], by loops. */
function naivePhm(S: number[][][], W: number[][][]): number[][] {
  const n = S.length;
  const A = W[0]!.length;
  const B = W[0]![0]!.length;
  const H = Array.from({ length: n * A }, () => new Array<number>(n * B).fill(0));
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++)
        for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) H[p * A + a]![q * B + b]! += S[i]![p]![q]! * W[i]![a]![b]!;
  return H;
}

describe('phmWeight: H = Σ_i S_i ⊗ W_i', () => {
  it('matches a hand-computed 2×2 example, (S⊗W)[p·A+a, q·B+b] = S[p,q]·W[a,b]', () => {
    const S = tf.tensor3d([
      [[1, 2], [3, 4]],
      [[0, 1], [1, 0]],
    ]);
    const W = tf.tensor3d([
      [[0, 5], [6, 7]],
      [[1, 1], [1, 1]],
    ]);
    // S0⊗W0 = [[0,5,0,10],[6,7,12,14],[0,15,0,20],[18,21,24,28]]; S1⊗W1 = [[0,0,1,1],[0,0,1,1],[1,1,0,0],[1,1,0,0]]
    const expected = [
      [0, 5, 1, 11],
      [6, 7, 13, 15],
      [1, 16, 0, 20],
      [19, 22, 24, 28],
    ];
    const H = phmWeight(S, W);
    expect(H.shape).toEqual([4, 4]);
    expect(H.arraySync()).toEqual(expected);
    // y = x·H (no transpose): a unit row vector picks a row of H
    const y = linear(tf.tensor2d([[0, 1, 0, 0]]), H);
    expect(y.arraySync()).toEqual([expected[1]]);
    tf.dispose([S, W, H, y]);
  });

  it('matches the loop definition for n=3, in/n=2, out/n=5 and frees its intermediates', () => {
    const rng = new Rng(5);
    const S = init.normal(rng, [3, 3, 3], 1);
    const W = init.normal(rng, [3, 2, 5], 1);
    const before = tf.memory().numTensors;
    const H = phmWeight(S, W);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(H.shape).toEqual([6, 15]);
    const want = naivePhm(S.arraySync() as number[][][], W.arraySync() as number[][][]);
    const got = H.arraySync();
    for (let r = 0; r < 6; r++) for (let c = 0; c < 15; c++) expect(got[r]![c]!).toBeCloseTo(want[r]![c]!, 5);
    tf.dispose([S, W, H]);
  });

  it('has gradients for the rule and W', () => {
    const rng = new Rng(6);
    const S = init.normal(rng, [2, 2, 2], 1);
    const W = init.normal(rng, [2, 3, 1], 1);
    const x = init.normal(rng, [4, 6], 1);
    const [gS, gW] = tf.grads((s: tf.Tensor, w: tf.Tensor) => tf.sum(linear(x as tf.Tensor2D, phmWeight(s, w))))([S, W]);
    expect(gS!.shape).toEqual([2, 2, 2]);
    expect(gW!.shape).toEqual([2, 3, 1]);
    // d/dS[i,p,q] Σ x·H = Σ_{a,b} colsum(x)[p·A+a] · W[i,a,b]  (every output column weighs 1)
    const colSum = tf.sum(x, 0).arraySync() as number[];
    const w = W.arraySync() as number[][][];
    const want = (i: number, p: number): number => [0, 1, 2].reduce((acc, a) => acc + colSum[p * 3 + a]! * w[i]![a]![0]!, 0);
    const g = gS!.arraySync() as number[][][];
    for (const i of [0, 1]) for (const p of [0, 1]) for (const q of [0, 1]) expect(g[i]![p]![q]!).toBeCloseTo(want(i, p), 4);
    tf.dispose([S, W, x, gS!, gW!]);
  });

  it('rejects mismatched shapes', () => {
    const S = tf.zeros([2, 2, 3]);
    const W = tf.zeros([3, 2, 2]);
    expect(() => phmWeight(S, W)).toThrow(WeightsMismatchError);
    expect(() => phmWeight(tf.zeros([2, 2, 2]), W)).toThrow(/W must be \[n, A, B\] with n = 2/);
    tf.dispose([S, W]);
  });
});

describe('factorProduct: left [n, A, k] @ right [n, k, B]', () => {
  it.each([1, 3])('equals the batched matmul for rank %i', (k) => {
    const rng = new Rng(k);
    const L = init.normal(rng, [4, 6, k], 1);
    const R = init.normal(rng, [4, k, 2], 1);
    const got = factorProduct(L, R);
    const want = tf.matMul(L as tf.Tensor3D, R as tf.Tensor3D);
    expect(got.shape).toEqual([4, 6, 2]);
    expect(tf.max(tf.abs(tf.sub(got, want))).arraySync()).toBeLessThan(1e-5);
    tf.dispose([L, R, got, want]);
  });
});
