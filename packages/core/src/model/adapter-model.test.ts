import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../composition/blocks';
import { AdapterConfigError, AdapterStateError, CapabilityError, WeightsMismatchError } from '../errors';
import { parseSafetensors, serializeSafetensors } from '../io/safetensors';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';

const ids = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');

const tmpDirs: string[] = [];
function tmpDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function disposeAll(o: object): void {
  tf.dispose(Object.values(o) as tf.Tensor[]);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('AdapterModel', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('with no active adapter equals the plain host, and an adapter changes the output', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const input = ids();
    const base = model.forward({ inputIds: input }).lastHiddenState;
    model.addAdapter('a', 'toy_big', { setActive: true });
    const withAdapter = model.forward({ inputIds: input }).lastHiddenState;
    model.setActiveAdapters(null);
    const again = model.forward({ inputIds: input }).lastHiddenState;
    expect(maxDiff(base, again)).toBe(0);
    expect(maxDiff(base, withAdapter)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('runs handlers in the order of the active setup, not insertion order, and recompiles on change', () => {
    const calls: string[] = [];
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod(calls)] });
    model.addAdapter('a', { method: 'toy-scale' });
    model.addAdapter('b', { method: 'toy-scale', onAttention: true });
    model.setActiveAdapters(Stack('b', 'a'));
    disposeAll(model.forward({ inputIds: ids() }));
    expect(calls).toEqual(['b:attention.output:0', 'b:ffn.output:0', 'a:ffn.output:0', 'b:attention.output:1', 'b:ffn.output:1', 'a:ffn.output:1']);
    calls.length = 0;
    model.setActiveAdapters(['a', 'b']);
    disposeAll(model.forward({ inputIds: ids() }));
    expect(calls.slice(0, 3)).toEqual(['b:attention.output:0', 'a:ffn.output:0', 'b:ffn.output:0']);
    calls.length = 0;
    model.deleteAdapter('b'); // active setup named b: cleared
    expect(model.activeAdapters).toBeUndefined();
    disposeAll(model.forward({ inputIds: ids() }));
    expect(calls).toEqual([]);
    model.dispose();
  });

  it('rejects duplicates, unknown names and configs of methods that are not installed', () => {
    const m = createToyScaleMethod();
    expect(() => new AdapterModel(createToyHost(), { methods: [m, m] })).toThrow(/installed twice/);
    const model = new AdapterModel(createToyHost(), { methods: [m] });
    model.addAdapter('a', 'toy');
    expect(() => model.addAdapter('a', 'toy')).toThrow(AdapterStateError);
    expect(() => model.addAdapter('bad.name', 'toy')).toThrow(/invalid/);
    expect(() => model.addAdapter('x', 'pfeiffer')).toThrow(/@adapterkit\/bottleneck.*not installed/);
    expect(() => model.addAdapter('x', 'toy[int=2.0]')).toThrow(/did you mean 'init'/);
    expect(() => model.addAdapter('x', 'toy[init=True]')).toThrow(AdapterConfigError);
    expect(() => model.addAdapter('x', 'toy|toy')).toThrow(/@adapterkit\/union/);
    expect(() => model.setActiveAdapters('nope')).toThrow(/No adapter named 'nope'/);
    model.addAdapter('a', 'toy_big', { overwriteOk: true });
    model.dispose();
  });

  it('fails with a capability error when the host lacks a hook point', () => {
    const model = new AdapterModel(createToyHost(1, ['ffn.output']), { methods: [createToyScaleMethod()] });
    expect(() => model.addAdapter('a', 'toy')).toThrow(CapabilityError);
    model.dispose();
  });

  it('trainAdapter freezes the base and trains only the setup', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', 'toy');
    model.addAdapter('b', 'toy');
    model.trainAdapter('a');
    expect([...model.host.parameters.values()].every((v) => !v.trainable)).toBe(true);
    expect(model.adapterParams('a').every((p) => p.variable.trainable)).toBe(true);
    expect(model.adapterParams('b').every((p) => !p.variable.trainable)).toBe(true);
    expect(model.trainableVariables()).toHaveLength(2);
    const summary = model.formatAdapterSummary();
    expect(summary).toMatch(/^a\s+toy_scale\s+16\s+\d+\.\d{3}\s+1\s+1$/m);
    expect(summary).toMatch(/^b\s+toy_scale\s+16\s+\d+\.\d{3}\s+0\s+0$/m);
    expect(summary).toMatch(/^Full model\s+\S+\s+100\.000\s+0$/m);
    model.dispose();
  });

  it('keeps numTensors flat over 100 forwards and add/delete cycles', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', 'toy_big', { setActive: true });
    const input = ids();
    disposeAll(model.forward({ inputIds: input }));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) disposeAll(model.forward({ inputIds: input }, { training: true }));
    for (let i = 0; i < 5; i++) {
      model.addAdapter('tmp', 'toy');
      model.deleteAdapter('tmp');
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('saves in the AdapterHub layout and loads back to equal outputs (also under another name)', async () => {
    const dir = tmpDir('ak-save-');
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', 'toy_big[tag="q"]', { setActive: true });
    const v = model.adapterParams('a')[0]!.variable;
    v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', 7));
    const out = model.forward({ inputIds: ids() }).lastHiddenState;
    await model.saveAdapter(dir, 'a');
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ name: 'a', model_type: 'toy', hidden_size: 8, config: { architecture: 'toy_scale', init: 2, on_attention: false, tag: 'q' } });
    expect(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).toContain('"init": 2.0');
    const weights = parseSafetensors(readFileSync(join(dir, 'adapter.safetensors')));
    expect([...weights.tensors.keys()]).toEqual(['encoder.layer.0.output.toy.a.scale', 'encoder.layer.1.output.toy.a.scale']);

    const fresh = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const name = await fresh.loadAdapter(dir, { setActive: true });
    expect(name).toBe('a');
    expect(maxDiff(fresh.forward({ inputIds: ids() }).lastHiddenState, out)).toBe(0);
    await fresh.loadAdapter(dir, { loadAs: 'renamed', setActive: true });
    expect(maxDiff(fresh.forward({ inputIds: ids() }).lastHiddenState, out)).toBe(0);
    model.dispose();
    fresh.dispose();
  });

  it('refuses mismatched weights with one error and leaves the model unchanged', async () => {
    const dir = tmpDir('ak-bad-');
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', 'toy');
    await model.saveAdapter(dir, 'a');
    writeFileSync(
      join(dir, 'adapter.safetensors'),
      serializeSafetensors({
        'encoder.layer.0.output.toy.a.scale': { shape: [3], data: new Float32Array(3) },
        'encoder.layer.9.output.toy.a.scale': { shape: [8], data: new Float32Array(8) },
      }),
    );
    const fresh = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const tensorsBefore = tf.memory().numTensors;
    const err = await fresh.loadAdapter(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsMismatchError);
    expect(String((err as Error).message)).toMatch(/missing: encoder\.layer\.1\.output\.toy\.a\.scale/);
    expect(String((err as Error).message)).toMatch(/shape mismatch: encoder\.layer\.0\.output\.toy\.a\.scale: expected \[8\], got \[3\]/);
    expect(String((err as Error).message)).toMatch(/unexpected: encoder\.layer\.9/);
    expect(fresh.adapterNames()).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    model.dispose();
    fresh.dispose();
  });
});

describe('frozen adapter parameters', () => {
  it('stay untrainable through trainAdapter (e.g. learn_phm=False)', async () => {
    await tf.setBackend('cpu');
    const { defineAdapterMethod } = await import('../method/define');
    const frozenMethod = defineAdapterMethod<{ method: 'frozen-test'; x: number }>({
      name: 'frozen-test',
      architecture: 'frozen_test',
      fields: { x: { type: 'int' } },
      defaults: { x: 1 },
      hooks: [],
      meta: { package: 'test', version: '0', apiVersion: 1 },
      create({ params, name }) {
        params.add(`a.${name}.learned`, tf.zeros([2]));
        params.add(`a.${name}.fixed`, tf.zeros([2]), { trainable: false });
        return { handlers: {} };
      },
    });
    const model = new AdapterModel(createToyHost(), { methods: [frozenMethod] });
    model.addAdapter('f', { method: 'frozen-test' });
    model.trainAdapter('f');
    expect(model.adapterParams('f').map((p) => [p.key, p.variable.trainable])).toEqual([
      ['a.f.learned', true],
      ['a.f.fixed', false],
    ]);
    model.dispose();
  });
});
