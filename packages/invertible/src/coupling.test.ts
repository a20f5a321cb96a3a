import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, fileShape, registerTrainingSupport } from '@adapterkit/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { couplingSplit, glowCoupling, GLOW_CLAMP, niceCoupling, PfeifferInvConfig } from './index';
import { randomInput, randomise, standalone, type Standalone } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

let built: Standalone | undefined;
afterEach(() => {
  built?.params.dispose();
  built = undefined;
});

function build(hidden: number, overrides: Parameters<typeof PfeifferInvConfig>[0] = {}, seed = 1): Standalone {
  built = standalone(hidden, PfeifferInvConfig(overrides), seed);
  return built;
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** The parameters of a block as `key → file shape`. */
function fileShapes(s: Standalone): Record<string, number[]> {
  return Object.fromEntries(s.params.list().map((p) => [p.key, fileShape(p)]));
}

describe('couplingSplit', () => {
  it('splits at H // 2 like the reference (the second half takes the odd feature)', () => {
    expect(couplingSplit(32)).toEqual({ first: 16, second: 16 });
    expect(couplingSplit(33)).toEqual({ first: 16, second: 17 });
    expect(couplingSplit(768)).toEqual({ first: 384, second: 384 });
  });
});

describe('niceCoupling / glowCoupling on hand-made subnets', () => {
  const x = [0.3, -1.2, 0.8, 2.0];
  const input = (): tf.Tensor3D => tf.tensor3d(x, [1, 1, 4]);
  const e = (s: number): number => Math.exp(GLOW_CLAMP * 0.636 * Math.atan(s / GLOW_CLAMP));

  it('NICE: y1 = x1 + F(x2), y2 = x2 + G(y1)', () => {
    const inv = niceCoupling(couplingSplit(4), (v) => tf.mul(v, 2), (v) => tf.tanh(v));
    const y1 = [x[0]! + 2 * x[2]!, x[1]! + 2 * x[3]!];
    const expected = [...y1, x[2]! + Math.tanh(y1[0]!), x[3]! + Math.tanh(y1[1]!)];
    const y = tf.tidy(() => Array.from(inv.forward(input()).dataSync()));
    y.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('GLOW: y1 = x1⊙e(s2(x2)) + t2(x2), y2 = x2⊙e(s1(y1)) + t1(y1), (s, t) split along the features', () => {
    // s2net(x2) = [0.7·x2 | x2 + 0.1] and s1net(y1) = [−0.4·y1 | 2·y1]: the first half of each output is s, the second t.
    const s2net = (v: tf.Tensor): tf.Tensor => tf.concat([tf.mul(v, 0.7), tf.add(v, 0.1)], -1);
    const s1net = (v: tf.Tensor): tf.Tensor => tf.concat([tf.mul(v, -0.4), tf.mul(v, 2)], -1);
    const inv = glowCoupling(couplingSplit(4), s1net, s2net);
    const y1 = [0, 1].map((i) => x[i]! * e(0.7 * x[2 + i]!) + x[2 + i]! + 0.1);
    const y2 = [0, 1].map((i) => x[2 + i]! * e(-0.4 * y1[i]!) + 2 * y1[i]!);
    const y = tf.tidy(() => Array.from(inv.forward(input()).dataSync()));
    [...y1, ...y2].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 4));
    const back = tf.tidy(() => Array.from(inv.inverse(inv.forward(input())).dataSync()));
    back.forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 5));
  });

  it('GLOW log-scales are soft-clamped to (−clamp, clamp)', () => {
    const huge = (v: tf.Tensor): tf.Tensor => tf.concat([tf.mul(tf.onesLike(v), 1e6), tf.zerosLike(v)], -1);
    const inv = glowCoupling(couplingSplit(2), huge, huge);
    const y = tf.tidy(() => Array.from(inv.forward(tf.tensor3d([1, 1], [1, 1, 2])).dataSync()));
    // e(1e6) → exp(5 · 0.636 · π/2) ≈ exp(4.995) < exp(5)
    expect(y[0]).toBeCloseTo(Math.exp(GLOW_CLAMP * 0.636 * Math.atan(1e6 / GLOW_CLAMP)), 1);
    expect(y[0]!).toBeLessThan(Math.exp(GLOW_CLAMP));
  });
});

describe('inverse(forward(x)) = x on random input with random weights', () => {
  const CASES: Array<[string, number, 'nice' | 'glow', number]> = [
    ['NICE, H 32, rf 2 (pfeiffer+inv)', 32, 'nice', 2],
    ['GLOW, H 32, rf 2', 32, 'glow', 2],
    ['NICE, odd H 33, rf 3', 33, 'nice', 3],
    ['GLOW, odd H 33, rf 3', 33, 'glow', 3],
    ['NICE, odd H 7, rf 1.5', 7, 'nice', 1.5],
    ['GLOW, odd H 7, rf 1.5', 7, 'glow', 1.5],
    ['NICE, H 16, rf 0.5 (wider subnets)', 16, 'nice', 0.5],
    ['GLOW, H 16, rf 0.5 (wider subnets)', 16, 'glow', 0.5],
    ['GLOW, H 64, rf 8', 64, 'glow', 8],
  ];
  it.each(CASES)('%s: within 1e-5, and forward is far from the identity', (_, hidden, kind, rf) => {
    const { inv, params } = build(hidden, { invAdapter: kind, invAdapterReductionFactor: rf, nonLinearity: 'gelu' });
    randomise(params.list(), 11);
    const x = randomInput(2, 5, hidden);
    tf.tidy(() => {
      const y = inv.forward(x);
      expect(y.shape).toEqual([2, 5, hidden]);
      expect(maxAbs(y, x)).toBeGreaterThan(0.1);
      expect(maxAbs(inv.inverse(y), x)).toBeLessThanOrEqual(1e-5);
      expect(maxAbs(inv.forward(inv.inverse(x)), x)).toBeLessThanOrEqual(1e-5);
    });
    x.dispose();
  });

  it('holds for every activation the reference accepts', () => {
    for (const nonLinearity of ['relu', 'swish', 'gelu_new', 'tanh', 'leakyrelu', 'sigmoid']) {
      for (const kind of ['nice', 'glow'] as const) {
        const s = standalone(12, PfeifferInvConfig({ invAdapter: kind, nonLinearity }), 3);
        randomise(s.params.list(), 4);
        const x = randomInput(1, 3, 12);
        expect(tf.tidy(() => maxAbs(s.inv.inverse(s.inv.forward(x)), x)), `${kind}/${nonLinearity}`).toBeLessThanOrEqual(1e-5);
        x.dispose();
        s.params.dispose();
      }
    }
  });
});

describe('parameters: reference keys, file shapes, counts, init', () => {
  it('NICE: F: second → second//rf → first, G: first → first//rf → second (keys F/G.{0,2}.{weight,bias})', () => {
    expect(fileShapes(build(32))).toEqual({
      'invertible_adapters.t.F.0.weight': [8, 16],
      'invertible_adapters.t.F.0.bias': [8],
      'invertible_adapters.t.F.2.weight': [16, 8],
      'invertible_adapters.t.F.2.bias': [16],
      'invertible_adapters.t.G.0.weight': [8, 16],
      'invertible_adapters.t.G.0.bias': [8],
      'invertible_adapters.t.G.2.weight': [16, 8],
      'invertible_adapters.t.G.2.bias': [16],
    });
  });

  it('NICE on an odd hidden size follows the reference split (F reads 17 features, writes 16)', () => {
    expect(fileShapes(build(33, { invAdapterReductionFactor: 3 }))).toMatchObject({
      'invertible_adapters.t.F.0.weight': [5, 17],
      'invertible_adapters.t.F.2.weight': [16, 5],
      'invertible_adapters.t.G.0.weight': [5, 16],
      'invertible_adapters.t.G.2.weight': [17, 5],
    });
  });

  it('GLOW: s1: first → first//rf → 2·second, s2: second → second//rf → 2·first (keys s1/s2.{0,2}.*)', () => {
    expect(fileShapes(build(33, { invAdapter: 'glow', invAdapterReductionFactor: 3 }))).toEqual({
      'invertible_adapters.t.s1.0.weight': [5, 16],
      'invertible_adapters.t.s1.0.bias': [5],
      'invertible_adapters.t.s1.2.weight': [34, 5],
      'invertible_adapters.t.s1.2.bias': [34],
      'invertible_adapters.t.s2.0.weight': [5, 17],
      'invertible_adapters.t.s2.0.bias': [5],
      'invertible_adapters.t.s2.2.weight': [32, 5],
      'invertible_adapters.t.s2.2.bias': [32],
    });
  });

  it('bert-base sizes (H 768, rf 2): NICE 296,064 and GLOW 444,288 parameters (reference notes §3.4)', () => {
    expect(build(768).params.count()).toBe(296_064);
    built!.params.dispose();
    expect(build(768, { invAdapter: 'glow' }).params.count()).toBe(444_288);
  });

  it('init_bert_weights: weights N(0, 0.02), biases 0, so the block starts close to the identity', () => {
    for (const p of build(768).params.list()) {
      const v = Array.from(p.variable.dataSync());
      if (p.key.endsWith('.bias')) {
        expect(v.every((b) => b === 0), p.key).toBe(true);
      } else {
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
        expect(Math.abs(mean), p.key).toBeLessThan(0.001);
        expect(std, p.key).toBeCloseTo(0.02, 3);
      }
    }
    built!.params.dispose();
    for (const kind of ['nice', 'glow'] as const) {
      const s = standalone(32, PfeifferInvConfig({ invAdapter: kind }));
      const x = randomInput(2, 4, 32);
      expect(tf.tidy(() => maxAbs(s.inv.forward(x), x)), kind).toBeLessThan(0.02);
      x.dispose();
      s.params.dispose();
    }
  });
});

describe('errors name the field and value at fault', () => {
  it('inv_adapter without inv_adapter_reduction_factor', () => {
    expect(() => build(32, { invAdapterReductionFactor: null })).toThrow(AdapterConfigError);
    expect(() => build(32, { invAdapterReductionFactor: null })).toThrow(/inv_adapter_reduction_factor/);
  });

  it('a reduction factor that leaves a subnet no hidden units', () => {
    expect(() => build(32, { invAdapterReductionFactor: 17 })).toThrow(/inv_adapter_reduction_factor=17 leaves subnet 'F' no hidden units \(16 \/\/ 17 = 0\)/);
  });

  it('a hidden size that cannot be split', () => {
    expect(() => build(1)).toThrow(/hidden size is 1/);
  });

  it('a failed build leaves no parameters behind once the collector is disposed', () => {
    const before = tf.memory().numTensors;
    expect(() => build(32, { invAdapterReductionFactor: 17 })).toThrow();
    built?.params.dispose();
    built = undefined;
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training', () => {
  it.each(['nice', 'glow'] as const)('%s: every parameter gets a non-zero gradient through forward and inverse', (kind) => {
    const { inv, params } = build(10, { invAdapter: kind });
    randomise(params.list(), 2);
    const x = randomInput(2, 3, 10);
    const vars = params.list().map((p) => p.variable);
    const { value, grads } = tf.variableGrads(() => tf.add(tf.sum(tf.square(inv.forward(x))), tf.sum(tf.square(inv.inverse(x)))) as tf.Scalar, vars);
    for (const p of params.list()) expect(tf.tidy(() => tf.max(tf.abs(grads[p.variable.name]!)).dataSync()[0]!), p.key).toBeGreaterThan(0);
    tf.dispose([value, x, ...Object.values(grads)]);
  });
});
