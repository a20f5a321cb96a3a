import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@adapterkit/backends';
import { AdapterModel, readSafetensors, Stack, type ModelInputs } from '@adapterkit/core';
import { collectTensors, conformanceInputs, createConformanceHost, maxAbsDiff, patternTensor, type ConformanceHostKind } from '@adapterkit/testkit';
import { bitfit } from './index';

const models: AdapterModel[] = [];
const inputs: ModelInputs[] = [];

function model(kind: ConformanceHostKind): { model: AdapterModel<typeof bitfit>; inputs: ModelInputs } {
  const m = new AdapterModel(createConformanceHost(kind, 3), { methods: [bitfit] });
  const i = conformanceInputs(kind);
  models.push(m);
  inputs.push(i);
  return { model: m, inputs: i };
}

beforeAll(async () => {
  await initBackend('cpu');
});

afterEach(() => {
  for (const m of models.splice(0)) m.dispose();
  for (const i of inputs.splice(0)) tf.dispose(collectTensors(i));
});

/** The base bias a delta shifts: `<module path>.bitfit.<name>.delta` → `<module path>.bias`. */
const biasOf = (key: string): string => key.replace(/\.bitfit\.[^.]+\.delta$/, '.bias');

describe('acme/bitfit', () => {
  it('registers one delta per dense layer under the reference module paths', () => {
    const bert = model('bert').model;
    bert.addAdapter('a', 'bitfit[leave_out=[0]]');
    expect(bert.adapterParams('a').map((p) => [p.key, p.variable.shape])).toEqual([
      ['encoder.layer.1.attention.self.query.bitfit.a.delta', [32]],
      ['encoder.layer.1.attention.self.key.bitfit.a.delta', [32]],
      ['encoder.layer.1.attention.self.value.bitfit.a.delta', [32]],
      ['encoder.layer.1.intermediate.dense.bitfit.a.delta', [64]],
      ['encoder.layer.1.output.dense.bitfit.a.delta', [32]],
    ]);
    const gpt2 = model('gpt2').model;
    gpt2.addAdapter('a', 'bitfit_attn');
    expect(gpt2.adapterParams('a').map((p) => [p.key, p.variable.shape])).toEqual([
      ['h.0.attn.c_attn.bitfit.a.delta', [96]],
      ['h.1.attn.c_attn.bitfit.a.delta', [96]],
    ]);
  });

  const cases: Array<[ConformanceHostKind, string | { method: 'acme/bitfit'; sites: Array<'key' | 'output'> }, string]> = [
    ['bert', 'bitfit', 'all sites'],
    ['roberta', 'bitfit[leave_out=[1]]', 'leave_out'],
    ['gpt2', 'bitfit', 'fused q/k/v'],
    ['gpt2', { method: 'acme/bitfit', sites: ['key', 'output'] }, 'key of the fused q/k/v only'],
  ];
  it.each(cases)('on %s (%s, %s) equals the base model with its biases shifted by the deltas', (kind, config) => {
    const withAdapter = model(kind);
    withAdapter.model.addAdapter('a', config, { setActive: true });
    const shifted = model(kind);
    const fusedKeyOnly = typeof config === 'object';
    withAdapter.model.adapterParams('a').forEach((p, i) => {
      const delta = tf.tidy(() => tf.mul(patternTensor(p.variable.shape, i + 1), 0.3));
      p.variable.assign(delta);
      // On GPT-2's fused c_attn only the selected third (the key) moves.
      const effective = fusedKeyOnly && p.key.includes('c_attn') ? tf.tidy(() => tf.mul(delta, tf.concat([tf.zeros([32]), tf.ones([32]), tf.zeros([32])]))) : delta;
      const bias = shifted.model.host.parameters.get(biasOf(p.key))!;
      bias.assign(tf.add(bias, effective));
      tf.dispose([delta, effective]);
    });
    const lm = kind === 'gpt2';
    const a = withAdapter.model.forward(withAdapter.inputs, { lmLogits: lm });
    const b = shifted.model.forward(shifted.inputs, { lmLogits: lm });
    expect(maxAbsDiff(a.lastHiddenState, b.lastHiddenState)).toBeLessThan(1e-5);
    if (lm) expect(maxAbsDiff(a.logits!, b.logits!)).toBeLessThan(1e-5);
    tf.dispose([...collectTensors(a), ...collectTensors(b)]);
  });

  it('adds the deltas of adapters stacked together', () => {
    const { model: m, inputs: x } = model('bert');
    for (const name of ['a', 'b', 'sum']) m.addAdapter(name, 'bitfit');
    const [a, b, sum] = ['a', 'b', 'sum'].map((n) => m.adapterParams(n));
    a!.forEach((p, i) => {
      const da = patternTensor(p.variable.shape, i + 1);
      const db = patternTensor(p.variable.shape, i + 50);
      p.variable.assign(da);
      b![i]!.variable.assign(db);
      sum![i]!.variable.assign(tf.tidy(() => tf.add(da, db)));
      tf.dispose([da, db]);
    });
    m.setActiveAdapters(Stack('a', 'b'));
    const stacked = m.forward(x).lastHiddenState;
    m.setActiveAdapters('sum');
    const single = m.forward(x).lastHiddenState;
    expect(maxAbsDiff(stacked, single)).toBeLessThan(1e-5);
    tf.dispose([stacked, single]);
  });

  it('trains only the deltas', () => {
    const { model: m } = model('bert');
    m.addAdapter('a', 'bitfit_attn');
    m.trainAdapter('a');
    expect(m.trainableVariables().map((v) => v.name)).toHaveLength(6);
    expect(m.adapterSummary()[0]!.numParams).toBe(2 * 3 * 32);
  });

  it('rejects bad configs with the field and value at fault', () => {
    const { model: m } = model('bert');
    expect(() => m.addAdapter('a', "bitfit[sites=['querry']]")).toThrow(/field 'sites' has unknown site "querry" \(did you mean 'query'\?\)/);
    expect(() => m.addAdapter('a', 'bitfit[sites=[]]')).toThrow(/'sites' must name at least one dense layer/);
    expect(() => m.addAdapter('a', "bitfit[sites=['key','key']]")).toThrow(/lists 'key' twice/);
    expect(() => m.addAdapter('a', 'bitfit[leave_out=[5]]')).toThrow(/leave_out' has layer 5, but the bert host has 2 layers/);
    expect(() => m.addAdapter('a', 'bitfit[leave_out=[0,1]]')).toThrow(/leaves out all 2 layers/);
    expect(() => m.addAdapter('a', 'bitfit[leave_out=1]')).toThrow(/field 'leave_out' of 'acme\/bitfit' must be a list/);
    expect(m.adapterNames()).toEqual([]);
  });

  it('saves its config and deltas in the AdapterHub layout', async () => {
    const { model: m } = model('gpt2');
    m.addAdapter('a', 'bitfit_attn[leave_out=[1]]');
    const dir = await mkdtemp(join(tmpdir(), 'bitfit-'));
    try {
      await m.saveAdapter(dir, 'a');
      const json = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as { config: unknown; name: string };
      expect(json.config).toEqual({ architecture: 'acme/bitfit', sites: ['query', 'key', 'value'], leave_out: [1] });
      const { tensors } = await readSafetensors(join(dir, 'adapter.safetensors'));
      expect([...tensors.keys()]).toEqual(['h.0.attn.c_attn.bitfit.a.delta']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
