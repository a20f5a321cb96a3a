import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, adapterHubGapsOf, serializeAdapter } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRAConfig, loraAdapterHubGaps } from './index';
import { buildModel, disposeAll, inputsFor, outputsDiff, run } from './test-helpers';

/**
 * The fields of `LoRAConfig` in adapter-transformers 3.2.1 (`configuration.py` L431–443) and `adapters` 1.1.0
 * (`configuration/adapter_config.py` L498–512), `architecture` included. Their `from_dict` passes these to the
 * dataclass and keeps any other key as an attribute that no module reads.
 */
const AT_321_FIELDS = ['architecture', 'selfattn_lora', 'intermediate_lora', 'output_lora', 'r', 'alpha', 'dropout', 'attn_matrices', 'composition_mode', 'init_weights', 'use_gating'];
const AD_110_FIELDS = [...AT_321_FIELDS, 'leave_out', 'dtype'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('loraAdapterHubGaps', () => {
  it('is empty for what AdapterHub has (defaults, IA3, q/k/v + FFN, gating, bert init) and names each field it lacks', () => {
    expect(loraAdapterHubGaps(LoRAConfig())).toEqual([]);
    expect(loraAdapterHubGaps(LoRAConfig({ attnMatrices: ['q', 'k', 'v'], intermediateLora: true, outputLora: true, useGating: true, initWeights: 'bert' }))).toEqual([]);
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
    for (const [i, c] of ['lora', 'ia3', 'lora[r=4,alpha=16,attn_matrices=["q","k","v"],intermediate_lora=True,output_lora=True,dropout=0.1]', 'lora[use_gating=True]'].entries()) {
      model.addAdapter(`a${i}`, c);
      const files = await serializeAdapter(model, `a${i}`);
      const config = (JSON.parse(files['adapter_config.json'] as string) as { config: Record<string, unknown> }).config;
      expect(Object.keys(config).filter((k) => !AT_321_FIELDS.includes(k)), c).toEqual([]);
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
