import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BatchSplit, Fuse, Parallel, Stack, type AdapterModel, type ModelInputs } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeAdapter, resetAdapter } from './index';
import { buildModel, GOLDEN, randomize, run, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Output rows `[start, start + size)` (hidden states, or logits on GPT-2). */
function rowsOf(model: AdapterModel, inputs: ModelInputs, start: number, size: number): tf.Tensor {
  const out = run(model, inputs);
  const t = model.info.modelType === 'gpt2' ? out.logits! : out.lastHiddenState;
  const r = tf.slice(t, [start, 0, 0], [size, -1, -1]);
  tf.dispose(Object.values(out) as tf.Tensor[]);
  return r;
}

describe('LoRA / (IA)³ under BatchSplit and Parallel (as `adapters`)', () => {
  it.each(['bert', 'gpt2'] as GoldenModel[])('%s: each batch slice / channel equals its child alone; merged adapters are refused', async (m) => {
    const model = await buildModel(m);
    model.addAdapter('l', 'lora[r=2, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True]');
    model.addAdapter('i', 'ia3');
    randomize(model, 'l', 1);
    randomize(model, 'i', 2);
    const inputs = goldenInputs(GOLDEN, m);
    model.setActiveAdapters('l');
    const l = rowsOf(model, inputs, 0, 2);
    model.setActiveAdapters(Stack('i'));
    const i = rowsOf(model, inputs, 0, 2);
    model.setActiveAdapters(BatchSplit('l', 'i', [1, 1]));
    const [b0, b1] = [rowsOf(model, inputs, 0, 1), rowsOf(model, inputs, 1, 1)];
    const [l0, i1] = [tf.slice(l, [0, 0, 0], [1, -1, -1]), tf.slice(i, [1, 0, 0], [1, -1, -1])];
    expect(maxAbsDiff(b0, l0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b1, i1)).toBeLessThan(1e-5);
    model.setActiveAdapters(Parallel('i', 'l'));
    const [p0, p1] = [rowsOf(model, inputs, 0, 2), rowsOf(model, inputs, 2, 2)];
    expect(maxAbsDiff(p0, i)).toBeLessThan(1e-5);
    expect(maxAbsDiff(p1, l)).toBeLessThan(1e-5);
    mergeAdapter(model, 'l');
    expect(() => run(model, inputs)).toThrow(/'l' is merged into the base weights, which would apply it to every row of the Parallel block/);
    resetAdapter(model);
    expect(() => model.setActiveAdapters(Fuse('l', 'i'))).toThrow(/'lora' .* does not support the Fuse block/);
    tf.dispose([l, i, b0, b1, l0, i1, p0, p1, ...(Object.values(inputs) as tf.Tensor[])]);
    model.dispose();
  });
});
