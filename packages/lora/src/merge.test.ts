import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAdapterMerged, mergeAdapter, resetAdapter } from './index';
import { buildModel, caseDir, disposeAll, goldenDiff, inputsFor, outputsDiff, run, snapshot, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function expectSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
}

const changedWeights = (a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] =>
  [...a].filter(([k, v]) => !Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer))).map(([k]) => k);

// number of base tensors a merge changes: add mode changes the weights of the wrapped modules, (IA)³ also their
// biases (the reference forgets them). bert lora: q, v × 2 layers; bert ia3: k, v, intermediate; gpt2 lora: c_attn;
// gpt2 ia3: c_attn, c_fc.
describe.each([
  ['bert', 'lora', 4],
  ['bert', 'ia3', 12],
  ['gpt2', 'lora', 2],
  ['gpt2', 'ia3', 8],
] as Array<[GoldenModel, string, number]>)('merge %s/%s', (modelName, c, expected) => {
  it('merged output equals the unmerged one within 1e-5; reset restores the base weights bit-exactly', async () => {
    const model = await buildModel(modelName);
    const inputs = inputsFor(modelName);
    const name = await model.loadAdapter(caseDir(modelName, c), { setActive: true });
    const base = snapshot(model);
    const unmerged = run(model, inputs);

    mergeAdapter(model, name);
    expect(isAdapterMerged(model, name)).toBe(true);
    expect(changedWeights(base, snapshot(model)).length).toBe(expected);
    const merged = run(model, inputs);
    const d = outputsDiff(unmerged, merged);
    console.log(`merge ${modelName}/${c}: merged vs unmerged max abs diff ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-5);
    expect(await goldenDiff(modelName, c, merged)).toBeLessThanOrEqual(1e-4);

    mergeAdapter(model, name); // idempotent
    expect(outputsDiff(merged, run(model, inputs))).toBe(0);

    resetAdapter(model);
    expect(isAdapterMerged(model, name)).toBe(false);
    expectSameWeights(base, snapshot(model));
    const again = run(model, inputs);
    expect(outputsDiff(unmerged, again)).toBe(0);
    [unmerged, merged, again, inputs].forEach(disposeAll);
    model.dispose();
  });
});

describe('merge rules', () => {
  it('refuses gated adapters and a second merged adapter in the same layer, changing nothing', async () => {
    const model = await buildModel('bert');
    model.addAdapter('gated', 'lora[use_gating=True]');
    expect(() => mergeAdapter(model, 'gated')).toThrow(expect.objectContaining({ code: 'LORA_GATED_MERGE' }));
    model.addAdapter('a', 'lora[init_weights="bert"]');
    model.addAdapter('b', 'lora[init_weights="bert", attn_matrices=["v"]]');
    model.addAdapter('c', 'lora[init_weights="bert", attn_matrices=["k"]]');
    mergeAdapter(model, 'a');
    const mergedA = snapshot(model);
    expect(() => mergeAdapter(model, 'b')).toThrow(AdapterStateError);
    expect(() => mergeAdapter(model, 'b')).toThrow(/value' \(layer 0\) already has adapter 'a' merged/);
    expectSameWeights(mergedA, snapshot(model));
    mergeAdapter(model, 'c'); // different modules (key): allowed
    resetAdapter(model, 'c');
    expectSameWeights(mergedA, snapshot(model));
    resetAdapter(model, 'a');
    mergeAdapter(model, 'b');
    expect(isAdapterMerged(model, 'b')).toBe(true);
    resetAdapter(model);
    model.dispose();
  });

  it('a merged adapter passes through, throws in training mode, and deactivating or deleting it restores the base', async () => {
    const model = await buildModel('gpt2');
    const inputs = inputsFor('gpt2');
    const base = snapshot(model);
    const plain = run(model, inputs);
    model.addAdapter('a', 'lora[init_weights="bert", intermediate_lora=True, output_lora=True, attn_matrices=["q","k","v"]]', { setActive: true });
    const unmerged = run(model, inputs);
    mergeAdapter(model, 'a');
    expect(() => run(model, inputs, { training: true })).toThrow(expect.objectContaining({ code: 'LORA_MERGED' }));
    // deactivating un-merges (the reference's set_active_adapters resets first): the base model again
    model.setActiveAdapters(null);
    expectSameWeights(base, snapshot(model));
    const inactive = run(model, inputs);
    expect(outputsDiff(plain, inactive)).toBe(0);
    model.setActiveAdapters('a');
    mergeAdapter(model, 'a');
    model.deleteAdapter('a');
    expectSameWeights(base, snapshot(model));
    const after = run(model, inputs);
    expect(outputsDiff(plain, after)).toBe(0);
    [plain, unmerged, inactive, after, inputs].forEach(disposeAll);
    model.dispose();
  });
});
