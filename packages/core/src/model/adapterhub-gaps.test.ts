import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterConfigError } from '../errors';
import { defineAdapterMethod } from '../method/define';
import { createToyHost, createToyScaleMethod, type ToyScaleConfig } from '../testing/toy';
import { adapterHubGapsOf, serializeAdapter } from './adapter-io';
import { AdapterModel } from './adapter-model';

/** The toy scale method, declaring `tag: 'ours'` a setting the AdapterHub libraries lack. */
function gappedToy() {
  const base = createToyScaleMethod();
  return defineAdapterMethod<ToyScaleConfig>({ ...base, adapterHubGaps: (c) => (c.tag === 'ours' ? [`tag='ours': not in the reference`] : []) });
}

describe('adapterHubGaps / adapterKitOnly', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a method without adapterHubGaps saves as before', async () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', { method: 'toy-scale', tag: 'ours' });
    expect(adapterHubGapsOf(model, 'a')).toEqual([]);
    expect(Object.keys(await serializeAdapter(model, 'a'))).toEqual(['adapter_config.json', 'adapter.safetensors']);
    model.dispose();
  });

  it('a config with gaps is refused (NOT_ADAPTERHUB_LOADABLE, nothing written) unless adapterKitOnly; others save', async () => {
    const model = new AdapterModel(createToyHost(), { methods: [gappedToy()] });
    model.addAdapter('plain', { method: 'toy-scale' });
    model.addAdapter('ours', { method: 'toy-scale', tag: 'ours' });
    expect(adapterHubGapsOf(model, 'plain')).toEqual([]);
    expect(adapterHubGapsOf(model, 'ours')).toEqual(["toy-scale tag='ours': not in the reference"]);
    const files = new Map<string, Uint8Array>();
    await model.saveAdapter(files, 'plain');
    expect([...files.keys()].sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
    const refused = new Map<string, Uint8Array>();
    const err = await model.saveAdapter(refused, 'ours').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterConfigError);
    expect((err as AdapterConfigError).code).toBe('NOT_ADAPTERHUB_LOADABLE');
    expect((err as Error).message).toContain("saving adapter 'ours'");
    expect((err as Error).message).toContain("toy-scale tag='ours': not in the reference");
    expect(refused.size).toBe(0);
    await model.saveAdapter(refused, 'ours', { adapterKitOnly: true });
    expect([...refused.keys()].sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
    const back = new AdapterModel(createToyHost(), { methods: [gappedToy()] });
    expect(await back.loadAdapter(refused)).toBe('ours');
    back.dispose();
    model.dispose();
  });
});
