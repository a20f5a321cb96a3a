import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, AdapterModel, adapterConfigToJson, configHash } from '@adapterkit/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AdapterConfig,
  BnConfig,
  bottleneck,
  bottleneckSize,
  HoulsbyConfig,
  ParallelConfig,
  PfeifferConfig,
  plugins,
  pyFloorDiv,
  type BottleneckConfig,
} from './index';
import { caseDir, createOneLayerHost, goldenModel, readJson } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let model: AdapterModel | undefined;
afterEach(() => {
  model?.dispose();
  model = undefined;
});

function oneLayerModel(): AdapterModel {
  model = new AdapterModel(createOneLayerHost().host, { methods: [...plugins], warn: () => undefined });
  return model;
}

/** The `config` dict our writer produces for an adapter. */
function configDict(m: AdapterModel, name: string): Record<string, unknown> {
  return adapterConfigToJson(m.requireAdapter(name).members).dict;
}

/** The `config` dict the reference wrote for a golden case. */
function goldenDict(name: string): Record<string, unknown> {
  return readJson(join(caseDir('bert', name), 'adapter_config.json'))['config'] as Record<string, unknown>;
}

function dictOf(config: BottleneckConfig): Record<string, unknown> {
  return adapterConfigToJson([{ method: bottleneck, config: config as never }]).dict;
}

describe('config strings and presets give the reference dicts', () => {
  it.each([
    ['pfeiffer', 'pfeiffer'],
    ['seq_bn', 'pfeiffer'],
    ['houlsby', 'houlsby'],
    ['double_seq_bn', 'houlsby'],
    ['parallel', 'parallel'],
    ['par_bn', 'parallel'],
    ['scaled_parallel', 'scaled_parallel'],
    ['scaled_par_bn', 'scaled_parallel'],
  ])('%s = reference %s', (id, golden) => {
    const m = oneLayerModel();
    m.addAdapter('a', id);
    expect(configDict(m, 'a')).toEqual(goldenDict(golden));
  });

  it('constructors return full typed configs equal to the presets', () => {
    expect(dictOf(PfeifferConfig())).toEqual(goldenDict('pfeiffer'));
    expect(dictOf(HoulsbyConfig())).toEqual(goldenDict('houlsby'));
    expect(dictOf(ParallelConfig())).toEqual(goldenDict('parallel'));
    expect(dictOf(ParallelConfig({ scaling: 'learned' }))).toEqual(goldenDict('scaled_parallel'));
    const custom = AdapterConfig({ mhAdapter: true, outputAdapter: true, reductionFactor: 4, nonLinearity: 'relu', residualBeforeLn: false, lnBefore: true });
    expect(dictOf(custom)).toEqual(goldenDict('bottleneck_custom'));
    expect(BnConfig).toBe(AdapterConfig);
    expect(Object.isFrozen(custom)).toBe(true);
    expect(custom.method).toBe('bottleneck');
  });

  it('typed configs and snake_case objects are accepted by addAdapter', () => {
    const m = oneLayerModel();
    m.addAdapter('a', PfeifferConfig({ reductionFactor: 2 }));
    m.addAdapter('b', { method: 'bottleneck', mh_adapter: true, non_linearity: 'tanh' } as never);
    expect(configDict(m, 'a')['reduction_factor']).toBe(2);
    expect(configDict(m, 'b')['mh_adapter']).toBe(true);
  });

  it('reproduces the reference config hashes (Pfeiffer 9076f36a74755ac4, Houlsby b1017368d7a97b11)', () => {
    expect(configHash(dictOf(PfeifferConfig()))).toBe('9076f36a74755ac4');
    expect(configHash(dictOf(HoulsbyConfig()))).toBe('b1017368d7a97b11');
  });

  it('overrides in config strings: Python literals, per-layer reduction factors, floats keep .0', () => {
    const m = oneLayerModel();
    m.addAdapter('a', "pfeiffer[reduction_factor={'0': 4, 'default': 8}, leave_out=[], non_linearity='gelu']");
    expect(configDict(m, 'a')['reduction_factor']).toEqual({ '0': 4, default: 8 });
    m.addAdapter('b', 'parallel[scaling=2.0, dropout=0.1, use_gating=True]');
    const b = configDict(m, 'b');
    expect([b['scaling'], b['dropout'], b['use_gating']]).toEqual([2, 0.1, true]);
    const floats = adapterConfigToJson(m.requireAdapter('b').members).floatPaths.map((p) => p.join('.'));
    expect(floats).toContain('scaling');
    expect(floats).toContain('dropout');
  });

  it('writes dropout only when it is non-zero (adapter-transformers 3.2.1 key set otherwise)', () => {
    expect('dropout' in dictOf(PfeifferConfig())).toBe(false);
    expect(dictOf(PfeifferConfig({ dropout: 0.1 }))['dropout']).toBe(0.1);
  });
});

describe('bottleneck size', () => {
  it('is max(1, int(hidden // rf)) with Python floor division', () => {
    expect(pyFloorDiv(768, 0.1)).toBe(7679); // Python: 768 // 0.1 == 7679.0
    expect(pyFloorDiv(100, 0.1)).toBe(999);
    expect(pyFloorDiv(-7, 2)).toBe(-4);
    expect(bottleneckSize(768, 16, 0)).toBe(48);
    expect(bottleneckSize(32, 0.5, 0)).toBe(64); // rf < 1 widens
    expect(bottleneckSize(32, 64, 0)).toBe(1); // at least 1
    expect(bottleneckSize(32, { '1': 2, default: 8 }, 1)).toBe(16);
    expect(bottleneckSize(32, { '1': 2, default: 8 }, 0)).toBe(4);
  });

  it('per-layer reduction factors set the parameter shapes per layer', async () => {
    const m = (model = await goldenModel('bert'));
    m.addAdapter('a', "pfeiffer[reduction_factor={'0': 4, 'default': 8}]");
    const shape = (k: string): number[] => [...m.adapterParams('a').find((p) => p.key === k)!.variable.shape];
    expect(shape('encoder.layer.0.output.adapters.a.adapter_down.0.weight')).toEqual([32, 8]);
    expect(shape('encoder.layer.1.output.adapters.a.adapter_down.0.weight')).toEqual([32, 4]);
  });
});

describe('invalid configs fail with AdapterConfigError naming the field', () => {
  const cases: Array<[string, RegExp]> = [
    ["pfeiffer[non_linearity='nope']", /non_linearity 'nope'/],
    ["parallel[scaling='huge']", /scaling/],
    ['parallel[scaling=True]', /scaling/],
    ["houlsby[residual_before_ln='post_add']", /residual_before_ln/],
    ["pfeiffer[residual_before_ln='before']", /residual_before_ln/],
    ["pfeiffer[init_weights='xavier']", /init_weights/],
    ['pfeiffer[reduction_factor=0]', /reduction_factor/],
    ["pfeiffer[reduction_factor={'1': 4}]", /reduction_factor .* layer 0/],
    ['pfeiffer[leave_out=[0.5]]', /leave_out/],
    ['pfeiffer[dropout=1.5]', /dropout/],
    ["pfeiffer[inv_adapter='real_nvp']", /inv_adapter/],
    ['pfeiffer[reduction_factr=2]', /reduction_factor/],
  ];
  it.each(cases)('%s', (spec, message) => {
    const m = oneLayerModel();
    expect(() => m.addAdapter('a', spec)).toThrow(AdapterConfigError);
    expect(() => m.addAdapter('a', spec)).toThrow(message);
    expect(m.adapterNames()).toEqual([]);
  });

  it('constructors validate too', () => {
    expect(() => PfeifferConfig({ nonLinearity: 'nope' })).toThrow(AdapterConfigError);
    expect(() => ParallelConfig({ scaling: 'huge' as never })).toThrow(/scaling/);
  });
});

describe('extension points without the extension installed', () => {
  it.each([
    ['pfeiffer[phm_layer=True]', '@adapterkit/compacter'],
    ["pfeiffer[inv_adapter='nice', inv_adapter_reduction_factor=2]", '@adapterkit/invertible'],
  ])('%s fails at addAdapter naming %s', (spec, pkg) => {
    const m = oneLayerModel();
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      m.addAdapter('a', spec);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AdapterConfigError);
    expect((error as AdapterConfigError).code).toBe('METHOD_NOT_INSTALLED');
    expect((error as Error).message).toContain(pkg);
    expect(m.adapterNames()).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
