import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingSupport } from './kernels';
import { dropout, getActivation, layerNorm, linear } from './ops';
import { Rng } from './init';

const close = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('nn ops', () => {
  beforeAll(async () => {
    await registerTrainingSupport();
    await tf.setBackend('cpu');
  });

  it('linear matches matMul + bias, and its gradients match tfjs\'s own', () => {
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1) as tf.Tensor3D;
    const w = tf.variable(tf.randomNormal([4, 5], 0, 1, 'float32', 2)) as tf.Variable<tf.Rank.R2>;
    const b = tf.variable(tf.randomNormal([5], 0, 1, 'float32', 3)) as tf.Variable<tf.Rank.R1>;
    const ref = (xx: tf.Tensor): tf.Tensor => tf.add(tf.matMul(tf.reshape(xx, [-1, 4]) as tf.Tensor2D, w), b);
    expect(close(tf.reshape(linear(x, w, b), [-1, 5]), ref(x))).toBeLessThan(1e-6);
    const ours = tf.variableGrads(() => tf.sum(tf.square(linear(x, w, b))) as tf.Scalar, [w, b]);
    const theirs = tf.variableGrads(() => tf.sum(tf.square(ref(x))) as tf.Scalar, [w, b]);
    expect(close(ours.grads[w.name]!, theirs.grads[w.name]!)).toBeLessThan(1e-4);
    expect(close(ours.grads[b.name]!, theirs.grads[b.name]!)).toBeLessThan(1e-4);
    // frozen weight: gradient flows to the input only
    w.trainable = false;
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(linear(xx as tf.Tensor3D, w, b))))(x);
    const dxRef = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(ref(xx))))(x);
    expect(close(dx, dxRef)).toBeLessThan(1e-4);
  });

  it('layerNorm uses the biased variance like PyTorch', () => {
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const y = layerNorm(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 0);
    const expected = [-1.3416408, -0.4472136, 0.4472136, 1.3416408];
    expect(close(y, tf.tensor2d([expected]))).toBeLessThan(1e-5);
  });

  it('knows the HF activations: exact gelu vs tanh gelu_new, swish', () => {
    const x = tf.tensor1d([-2, -0.5, 0, 1, 3]);
    const gelu = getActivation('gelu')(x).dataSync();
    const geluNew = getActivation('gelu_new')(x).dataSync();
    expect(gelu[3]).toBeCloseTo(0.8413447, 5);
    expect(geluNew[3]).toBeCloseTo(0.8411920, 5);
    expect(getActivation('swish')(x).dataSync()[3]).toBeCloseTo(0.7310586, 5);
    expect(() => getActivation('gelux')).toThrow(/Unknown non_linearity 'gelux'/);
  });

  it('dropout zeroes about `rate` of the elements, scales the rest by 1/(1−rate), is seeded by the rng it is given and has the mask as gradient', () => {
    const x = tf.ones([200, 500]);
    const draw = (seed: number): Float32Array => tf.tidy(() => dropout(x, 0.1, new Rng(seed)).dataSync() as Float32Array);
    const a = draw(25);
    expect(new Set(a)).toEqual(new Set([0, Math.fround(1 / 0.9)]));
    const dropped = a.filter((v) => v === 0).length / a.length;
    expect(dropped).toBeGreaterThan(0.095);
    expect(dropped).toBeLessThan(0.105);
    expect(draw(25)).toEqual(a);
    expect(draw(75)).not.toEqual(a);
    expect(dropout(x, 0, new Rng(1))).toBe(x);
    expect(() => dropout(x, 1, new Rng(1))).toThrow(/dropout rate must be in \[0, 1\), got 1/);
    expect(() => dropout(x, -0.1, new Rng(1))).toThrow(RangeError);
    const before = tf.memory().numTensors;
    const input = tf.ones([1000]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(dropout(v, 0.5, new Rng(3))))(input);
    const gv = g.dataSync();
    expect(gv.every((v) => v === 0 || v === 2)).toBe(true);
    expect(gv.filter((v) => v === 0).length).toBeGreaterThan(400);
    tf.dispose([input, g]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
