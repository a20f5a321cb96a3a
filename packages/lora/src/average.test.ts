import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { maxAbsDiff } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { averageLoRAAdapter } from './index';
import { buildModel, inputsFor, randomize } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const param = (model: AdapterModel, name: string, suffix: string): tf.Variable =>
  model.adapterParams(name).find((p) => p.key === `encoder.layer.1.attention.self.value.loras.${name}.${suffix}`)!.variable;

describe('averageLoRAAdapter (`adapters`\' average_adapter)', () => {
  it('linear: A and B are averaged separately with normalised weights; averaging an adapter with itself changes nothing', async () => {
    const model = await buildModel('bert');
    model.addAdapter('x', 'lora[r=4]');
    model.addAdapter('y', 'lora[r=4, dropout=0.1]'); // dropout may differ
    randomize(model, 'x', 1);
    randomize(model, 'y', 2);
    averageLoRAAdapter(model, 'avg', ['x', 'y'], [1, 3]);
    for (const s of ['lora_A', 'lora_B']) {
      const expected = tf.tidy(() => tf.add(tf.mul(param(model, 'x', s), 0.25), tf.mul(param(model, 'y', s), 0.75)));
      expect(maxAbsDiff(param(model, 'avg', s), expected)).toBeLessThan(1e-7);
      expected.dispose();
    }
    averageLoRAAdapter(model, 'same', ['x', 'x'], undefined, { setActive: true });
    const inputs = inputsFor('bert');
    const same = model.forward(inputs).lastHiddenState;
    model.setActiveAdapters('x');
    const ref = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(same, ref)).toBeLessThan(1e-6);
    tf.dispose([same, ref, ...(Object.values(inputs) as tf.Tensor[])]);
    model.dispose();
  });

  it('lora_linear_only_negate_b: A = Σ|λ|A, B = Σ λB; (IA)³ averages linearly only; mismatched configs are refused', async () => {
    const model = await buildModel('bert');
    model.addAdapter('x', 'lora[r=4]');
    model.addAdapter('y', 'lora[r=4]');
    randomize(model, 'x', 3);
    randomize(model, 'y', 4);
    averageLoRAAdapter(model, 'neg', ['x', 'y'], [1, -1], { combineStrategy: 'lora_linear_only_negate_b', normalizeWeights: false });
    const a = tf.tidy(() => tf.add(param(model, 'x', 'lora_A'), param(model, 'y', 'lora_A')));
    const b = tf.tidy(() => tf.sub(param(model, 'x', 'lora_B'), param(model, 'y', 'lora_B')));
    expect(maxAbsDiff(param(model, 'neg', 'lora_A'), a)).toBeLessThan(1e-7);
    expect(maxAbsDiff(param(model, 'neg', 'lora_B'), b)).toBeLessThan(1e-7);
    tf.dispose([a, b]);
    expect(() => averageLoRAAdapter(model, 'z', ['x', 'y'], [1, -1])).toThrow(/weights that sum to 0/);
    model.addAdapter('i', 'ia3');
    model.addAdapter('j', 'ia3');
    averageLoRAAdapter(model, 'ij', ['i', 'j']);
    expect(model.adapterSummary().find((r) => r.name === 'ij')!.numParams).toBe(model.adapterSummary().find((r) => r.name === 'i')!.numParams);
    expect(() => averageLoRAAdapter(model, 'z', ['i', 'j'], undefined, { combineStrategy: 'lora_linear_only_negate_b' })).toThrow(/needs LoRA adapters/);
    expect(() => averageLoRAAdapter(model, 'z', ['x', 'i'])).toThrow(/different configs: 'i' differs from 'x'/);
    expect(model.hasAdapter('z')).toBe(false);
    model.dispose();
  });
});
