import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseSafetensors, serializeAdapter } from '@adapterkit/core';
import { runParity } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugins } from './index';
import { buildModel, caseDir, disposeAll, GOLDEN, goldenDiff, inputsFor, outputsDiff, readMeta, run, type GoldenModel } from './test-helpers';

const CASES: Array<[GoldenModel, string]> = [
  ['bert', 'lora'],
  ['bert', 'ia3'],
  ['gpt2', 'lora'],
  ['gpt2', 'ia3'],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('golden %s/%s', (modelName, c) => {
  const inputs = inputsFor(modelName);
  afterAll(() => disposeAll(inputs));

  it('loadAdapter → setActiveAdapters → forward matches the reference within 1e-4, with its parameter count', async () => {
    const model = await buildModel(modelName);
    const name = await model.loadAdapter(caseDir(modelName, c));
    model.setActiveAdapters(name);
    const meta = readMeta(modelName, c);
    expect(model.adapterSummary()[0]!.numParams).toBe(meta['trainable_params']);
    expect(model.adapterSummary()[0]!.architecture).toBe('lora');
    const out = run(model, inputs);
    const d = await goldenDiff(modelName, c, out);
    console.log(`golden ${modelName}/${c} max abs diff ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-4);
    disposeAll(out);
    model.dispose();
  });

  it('saves the reference adapter_config.json "config" and the same weight keys and values', async () => {
    const model = await buildModel(modelName);
    const dir = caseDir(modelName, c);
    const name = await model.loadAdapter(dir);
    const meta = readMeta(modelName, c);
    const files = await serializeAdapter(model, name, { keyPrefix: String(meta['key_prefix']) });
    const ours = JSON.parse(files['adapter_config.json'] as string) as Record<string, unknown>;
    const ref = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(ours['config']).toEqual(ref['config']);
    if (modelName === 'bert') expect(files['adapter_config.json']).toBe(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    const saved = parseSafetensors(files['adapter.safetensors'] as Uint8Array).tensors;
    const golden = parseSafetensors(new Uint8Array(await readFile(join(dir, 'adapter.safetensors')))).tensors;
    expect([...saved.keys()].sort()).toEqual([...golden.keys()].sort());
    for (const [k, t] of golden) {
      expect(saved.get(k)!.shape, k).toEqual(t.shape);
      expect(Array.from(saved.get(k)!.data), k).toEqual(Array.from(t.data));
    }
    model.dispose();
  });
});

describe('golden cases through the parity runner', () => {
  it('passes bert/lora, bert/ia3, gpt2/lora, gpt2/ia3', async () => {
    const lines: string[] = [];
    const r = await runParity({ goldenDir: GOLDEN, cases: CASES.map(([m, c]) => `${m}/${c}`).join(','), plugins: [...plugins], log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect(r.failed).toBe(0);
    expect(r.passed).toBe(4);
  });
});

describe('save → load round trip', () => {
  it('reloads a saved adapter with identical outputs', async () => {
    const model = await buildModel('gpt2');
    const inputs = inputsFor('gpt2');
    model.addAdapter('x', 'lora[r=2, alpha=6, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True, init_weights="bert"]', { setActive: true });
    const before = run(model, inputs);
    const dir = await mkdtemp(join(tmpdir(), 'lora-save-'));
    await model.saveAdapter(dir, 'x');
    model.deleteAdapter('x');
    await model.loadAdapter(dir, { loadAs: 'y', setActive: true });
    const after = run(model, inputs);
    expect(outputsDiff(before, after)).toBe(0);
    disposeAll(before);
    disposeAll(after);
    disposeAll(inputs);
    model.dispose();
    await rm(dir, { recursive: true });
  });
});
