import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AdapterModel } from '@adapterkit/core';
import { buildModel, inputsFor } from './test-helpers';

let model: AdapterModel;
beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await buildModel('bert');
  model.addAdapter('a', 'lora[dropout=0.3]', { setActive: true });
});
afterAll(() => model.dispose());

describe('explicit randomness: forward({ training: true, seed })', () => {
  const run = (options: { training: boolean; seed?: number }): Float32Array =>
    tf.tidy(() => model.forward(inputsFor('bert'), options).lastHiddenState.dataSync() as Float32Array);

  it('the same seed gives the same training forward, another seed another one, without touching Math.random', () => {
    const spy = vi.spyOn(Math, 'random');
    try {
      const a = run({ training: true, seed: 1 });
      const b = run({ training: true, seed: 1 });
      const c = run({ training: true, seed: 2 });
      const inference = run({ training: false });
      expect([...b]).toEqual([...a]);
      expect([...c]).not.toEqual([...a]);
      expect([...a]).not.toEqual([...inference]); // dropout did act
      // without a seed, successive training forwards draw fresh seeds from the model's own stream
      expect([...run({ training: true })]).not.toEqual([...run({ training: true })]);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});
