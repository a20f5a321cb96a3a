import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';
import { averageAdapterParams, weightedSum } from './average';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A toy model with adapters `a` (every scale 1), `b` (every scale 3) and `big` (another config). */
function setup(): AdapterModel {
  const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
  model.addAdapter('a', 'toy');
  model.addAdapter('b', 'toy');
  model.addAdapter('big', 'toy_big');
  for (const p of model.adapterParams('b')) p.variable.assign(tf.mul(p.variable, 3));
  return model;
}

const values = (model: AdapterModel, name: string): number[][] => model.adapterParams(name).map((p) => Array.from(p.variable.dataSync()));

describe('averageAdapterParams', () => {
  it('adds Σ λ_i Φ_i under the new name (keys renamed), normalising weights by default', () => {
    const model = setup();
    averageAdapterParams(model, 'avg', ['a', 'b'], [1, 3]);
    expect(model.adapterParams('avg').map((p) => p.key)).toEqual(model.adapterParams('a').map((p) => p.key.replace('.a.', '.avg.')));
    for (const row of values(model, 'avg')) for (const v of row) expect(v).toBeCloseTo(0.25 * 1 + 0.75 * 3, 6);
    averageAdapterParams(model, 'raw', ['a', 'b'], [1, 3], { normalizeWeights: false, setActive: true });
    for (const row of values(model, 'raw')) for (const v of row) expect(v).toBeCloseTo(10, 6);
    expect(model.activeAdapters).toEqual({ type: 'Stack', children: ['raw'] });
    averageAdapterParams(model, 'eq', ['a', 'b'], undefined);
    for (const row of values(model, 'eq')) for (const v of row) expect(v).toBeCloseTo(2, 6);
    model.dispose();
  });

  it('uses a custom combine per key with the normalised weights', () => {
    const model = setup();
    const seen: Array<[string, number[]]> = [];
    averageAdapterParams(model, 'c', ['a', 'b'], [1, -3], {
      combine: (key, tensors, w) => {
        seen.push([key, [...w]]);
        return weightedSum(tensors, w.map(Math.abs));
      },
    });
    expect(seen.map(([k]) => k)).toEqual(model.adapterParams('c').map((p) => p.key));
    expect(seen[0]![1]).toEqual([-0.5, 1.5]);
    for (const row of values(model, 'c')) for (const v of row) expect(v).toBeCloseTo(0.5 + 4.5, 6);
    model.dispose();
  });

  it('rejects bad input without adding anything or leaking tensors', () => {
    const model = setup();
    const before = tf.memory().numTensors;
    expect(() => averageAdapterParams(model, 'x', [], undefined)).toThrow(/needs at least one adapter/);
    expect(() => averageAdapterParams(model, 'x', ['a', 'big'], undefined)).toThrow(/different configs: 'big' differs from 'a'/);
    expect(() => averageAdapterParams(model, 'x', ['a', 'b'], [1], { caller: 'myAverage' })).toThrow(/^myAverage got 1 weights for 2 adapters$/);
    expect(() => averageAdapterParams(model, 'x', ['a', 'b'], [1, -1])).toThrow(/weights that sum to 0/);
    expect(() => averageAdapterParams(model, 'x', ['a'], undefined, { methods: ['bottleneck'] })).toThrow(/averages bottleneck adapters; 'a' has a 'toy-scale' part/);
    expect(() => averageAdapterParams(model, 'a', ['a', 'b'], undefined)).toThrow(/already exists/);
    expect(model.adapterNames()).toEqual(['a', 'b', 'big']);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
