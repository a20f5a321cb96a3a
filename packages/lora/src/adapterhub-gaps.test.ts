import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, adapterHubGapsOf, serializeAdapter } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPeftAdapter, importPeftAdapter, LoRAConfig, loraAdapterHubGaps } from './index';
import { buildModel, disposeAll, inputsFor, outputsDiff, run } from './test-helpers';

/**
 * The fields of `LoRAConfig` in adapter-transformers 3.2.1 (`configuration.py` L431–443) and `adapters` 1.1.0
 * (`configuration/adapter_config.py` L498–512), `architecture` included. Their `from_dict` passes these to the
 * dataclass and keeps any other key as an attribute that no module reads.
 */
const AT_321_FIELDS = ['architecture', 'selfattn_lora', 'intermediate_lora', 'output_lora', 'r', 'alpha', 'dropout', 'attn_matrices', 'composition_mode', 'init_weights', 'use_gating'];
const AD_110_FIELDS = [...AT_321_FIELDS, 'leave_out', 'dtype'];
/**
 * `leave_out`: a field of adapters 1.1.0 only. adapter-transformers 3.2.1 drops it when adding the adapter (measured by
 * scripts/interop-lora-adapterhub.test.ts) and builds the left-out layers' modules from their initial values, a
 * no-op unless `init_weights="bert"`, which is refused.
 */
const AT_321_NOOP = [...AT_321_FIELDS, 'leave_out'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('loraAdapterHubGaps', () => {
  it('is empty for what AdapterHub has (defaults, IA3, q/k/v + FFN, gating, bert init) and names each field it lacks', () => {
    expect(loraAdapterHubGaps(LoRAConfig())).toEqual([]);
    expect(loraAdapterHubGaps(LoRAConfig({ attnMatrices: ['q', 'k', 'v'], intermediateLora: true, outputLora: true, useGating: true, initWeights: 'bert' }))).toEqual([]);
    expect(loraAdapterHubGaps(LoRAConfig({ leaveOut: [0], intermediateLora: true }))).toEqual([]);
    expect(loraAdapterHubGaps(LoRAConfig({ leaveOut: [0], initWeights: 'bert' }))).toEqual([expect.stringMatching(/^leave_out=\[0\] with init_weights="bert": adapter-transformers 3\.2\.1 ignores leave_out/)]);
    const gaps = loraAdapterHubGaps(LoRAConfig({ extraModules: ['attention_output', 'pooler'], useRslora: true, useDora: true }));
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toMatch(/^extra_modules=\["attention_output","pooler"\]: they have no LoRA on these layers/);
    expect(gaps[1]).toMatch(/^use_rslora=True: /);
    expect(gaps[2]).toMatch(/^use_dora=True: /);
  });
});

describe('adapterHubGapsOf (core) with LoRA', () => {
  it('lists the gaps of every member, prefixed with the method; empty for what AdapterHub has', async () => {
    const model = await buildModel('bert');
    model.addAdapter('plain', 'lora[r=2]');
    model.addAdapter('both', 'lora[r=2,use_rslora=True,extra_modules=["pooler"]]');
    expect(adapterHubGapsOf(model, 'plain')).toEqual([]);
    const gaps = adapterHubGapsOf(model, 'both');
    expect(gaps).toHaveLength(2);
    expect(gaps[0]).toMatch(/^lora extra_modules=\["pooler"\]: /);
    expect(gaps[1]).toMatch(/^lora use_rslora=True: /);
    expect(() => adapterHubGapsOf(model, 'nope')).toThrow(/nope/);
    model.dispose();
  });
});

describe('saveAdapter in AdapterHub layout', () => {
  const inputs = inputsFor('bert');
  afterAll(() => disposeAll(inputs));

  it.each([
    ['lora[r=2,extra_modules=["attention_output"]]', 'extra_modules=["attention_output"]'],
    ['lora[r=2,use_rslora=True]', 'use_rslora=True'],
    ['lora[r=2,use_dora=True]', 'use_dora=True'],
    ['lora[r=2,leave_out=[1],init_weights="bert"]', 'leave_out=[1] with init_weights="bert"'],
  ])('refuses %s (NOT_ADAPTERHUB_LOADABLE, naming the field) and writes nothing', async (config, field) => {
    const model = await buildModel('bert');
    model.addAdapter('a', config);
    const files = new Map<string, Uint8Array>();
    const err = await model.saveAdapter(files, 'a', { format: 'both' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterConfigError);
    expect((err as AdapterConfigError).code).toBe('NOT_ADAPTERHUB_LOADABLE');
    expect((err as Error).message).toContain(`saving adapter 'a'`);
    expect((err as Error).message).toContain(`lora ${field}`);
    expect((err as Error).message).toContain('exportPeftAdapter');
    expect((err as Error).message).toContain('adapterKitOnly');
    expect(files.size).toBe(0);
    model.dispose();
  });

  it('writes only keys that are fields of the reference LoRAConfig (3.2.1 and 1.1.0) for configs it accepts', async () => {
    const model = await buildModel('bert');
    for (const [i, c] of ['lora', 'ia3', 'lora[r=4,alpha=16,attn_matrices=["q","k","v"],intermediate_lora=True,output_lora=True,dropout=0.1]', 'lora[use_gating=True]', 'lora[leave_out=[1]]'].entries()) {
      model.addAdapter(`a${i}`, c);
      const files = await serializeAdapter(model, `a${i}`);
      const config = (JSON.parse(files['adapter_config.json'] as string) as { config: Record<string, unknown> }).config;
      expect(Object.keys(config).filter((k) => !AT_321_NOOP.includes(k)), c).toEqual([]);
      expect(Object.keys(config).filter((k) => !AD_110_FIELDS.includes(k)), c).toEqual([]);
    }
    model.dispose();
  });

  it('{ adapterKitOnly: true } writes such a config (extra_modules and all), and it loads back as saved — as files of earlier versions do', async () => {
    const model = await buildModel('bert');
    model.addAdapter('a', 'lora[r=2,alpha=4,init_weights="bert",extra_modules=["attention_output","pooler"],use_rslora=True]', { setActive: true });
    const before = run(model, inputs);
    const files = new Map<string, Uint8Array>();
    await model.saveAdapter(files, 'a', { adapterKitOnly: true });
    const text = new TextDecoder().decode(files.get('adapter_config.json'));
    const config = (JSON.parse(text) as { config: Record<string, unknown> }).config;
    expect(config['extra_modules']).toEqual(['attention_output', 'pooler']);
    expect(config['use_rslora']).toBe(true);
    const again = await buildModel('bert');
    const name = await again.loadAdapter(files, { setActive: true });
    expect(name).toBe('a');
    const after = run(again, inputs);
    expect(outputsDiff(before, after)).toBe(0);
    disposeAll(before);
    disposeAll(after);
    again.dispose();
    model.dispose();
  });
});

describe('leave_out (adapters 1.1 LoRAConfig field)', () => {
  const inputs = inputsFor('bert');
  afterAll(() => disposeAll(inputs));

  it('puts no LoRA module in the listed layers, is saved only when non-empty, and loads back as saved', async () => {
    const model = await buildModel('bert');
    model.addAdapter('all', 'lora[r=2,output_lora=True]');
    model.addAdapter('a', 'lora[r=2,output_lora=True,leave_out=[1]]', { setActive: true });
    const layers = (n: string): string[] => [...new Set(model.adapterParams(n).map((p) => /layer\.(\d+)\./.exec(p.key)?.[1] ?? '-'))].sort();
    expect(layers('all')).toEqual(['0', '1']);
    expect(layers('a')).toEqual(['0']);
    model.adapterParams('a').forEach((p, i) => p.variable.assign(tf.tidy(() => tf.add(p.variable, tf.mul(tf.reshape(tf.cos(tf.range(i, i + p.variable.size)), p.variable.shape), 0.1)))));
    const before = run(model, inputs);
    const files = await serializeAdapter(model, 'a');
    expect((JSON.parse(files['adapter_config.json'] as string) as { config: Record<string, unknown> }).config['leave_out']).toEqual([1]);
    expect((JSON.parse((await serializeAdapter(model, 'all'))['adapter_config.json'] as string) as { config: Record<string, unknown> }).config).not.toHaveProperty('leave_out');
    const saved = new Map<string, Uint8Array>();
    await model.saveAdapter(saved, 'a');
    const warnings: string[] = [];
    const again = await buildModel('bert', warnings);
    await again.loadAdapter(saved, { setActive: true });
    const after = run(again, inputs);
    expect(outputsDiff(before, after)).toBe(0);
    expect(warnings).toEqual([]);
    disposeAll(before);
    disposeAll(after);
    again.dispose();
    model.dispose();
  });

  it('exports to PEFT and imports back with the same outputs (the left-out layer imports as a no-op, with a warning)', async () => {
    const model = await buildModel('bert');
    model.addAdapter('a', 'lora[r=2,leave_out=[0]]', { setActive: true });
    model.adapterParams('a').forEach((p, i) => p.variable.assign(tf.tidy(() => tf.add(p.variable, tf.mul(tf.reshape(tf.sin(tf.range(i, i + p.variable.size)), p.variable.shape), 0.1)))));
    const before = run(model, inputs);
    const peft = new Map<string, Uint8Array>();
    await exportPeftAdapter(model, 'a', peft);
    const warnings: string[] = [];
    const again = await buildModel('bert', warnings);
    await importPeftAdapter(again, peft, { setActive: true });
    expect(warnings).toEqual([expect.stringMatching(/no PEFT weights for encoder\.layer\.0\.attention\.self\.query, encoder\.layer\.0\.attention\.self\.value; these get a no-op update/)]);
    const after = run(again, inputs);
    expect(outputsDiff(before, after)).toBeLessThan(1e-6);
    disposeAll(before);
    disposeAll(after);
    again.dispose();
    model.dispose();
  });

  it('refuses ids that are not layer ids, naming leave_out', async () => {
    const model = await buildModel('bert');
    expect(() => model.addAdapter('x', 'lora[leave_out=[-1]]')).toThrow(/leave_out/);
    expect(() => model.addAdapter('x', 'lora[leave_out=[0,0]]')).toThrow(/leave_out.*twice/);
    expect(() => model.addAdapter('x', 'lora[leave_out=["a"]]')).toThrow(/leave_out/);
    expect(model.adapterNames()).toEqual([]);
    model.dispose();
  });
});
