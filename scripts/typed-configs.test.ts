import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, AdapterModel, type AdapterConfigBase } from '@adapterkit/core';
import { AdapterConfig, HoulsbyConfig, ParallelConfig, PfeifferConfig, plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { CompacterConfig, CompacterPlusPlusConfig, plugins as compacterPlugins } from '@adapterkit/compacter';
import { HoulsbyInvConfig, PfeifferInvConfig, plugins as invertiblePlugins } from '@adapterkit/invertible';
import { IA3Config, LoRAConfig, plugins as loraPlugins } from '@adapterkit/lora';
import { PrefixTuningConfig, plugins as prefixPlugins } from '@adapterkit/prefix-tuning';
import { PromptTuningConfig, plugins as promptPlugins } from '@adapterkit/prompt-tuning';
import { DiReftConfig, LoReftConfig, NoReftConfig, plugins as reftPlugins } from '@adapterkit/reft';
import { loadHost } from '@adapterkit/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigUnion, MAMConfig, plugins as unionPlugins } from '@adapterkit/union';

const GOLDEN = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ak-typed-configs-'));
let model: AdapterModel;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const plugins = [...bottleneckPlugins, ...invertiblePlugins, ...compacterPlugins, ...prefixPlugins, ...unionPlugins, ...loraPlugins, ...promptPlugins, ...reftPlugins];
  model = new AdapterModel(await loadHost(join(GOLDEN, 'models', 'bert')), { methods: plugins as never, warn: () => undefined });
});
afterAll(() => {
  model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Adds `config` under `name`, saves it, reloads it into a fresh adapter and returns the saved `config` dict. */
async function saved(name: string, config: unknown): Promise<Record<string, unknown>> {
  model.addAdapter(name, config as never);
  const dir = join(tmp, name);
  await model.saveAdapter(dir, name);
  const doc = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
  const reloaded = await model.loadAdapter(dir, { loadAs: `${name}_again` });
  expect(model.requireAdapter(reloaded).members.map((m) => m.config)).toEqual(model.requireAdapter(name).members.map((m) => m.config));
  model.deleteAdapter(name);
  model.deleteAdapter(reloaded);
  return doc.config;
}

describe("the issue's examples, as written, through addAdapter and adapter_config.json", () => {
  it('AdapterConfig({ mh_adapter, output_adapter, reduction_factor, non_linearity }) in snake_case', async () => {
    const c = AdapterConfig({ mh_adapter: true, output_adapter: true, reduction_factor: 16, non_linearity: 'relu' });
    expect(c).toMatchObject({ mhAdapter: true, outputAdapter: true, reductionFactor: 16, nonLinearity: 'relu' });
    expect(Object.keys(c).some((k) => k.includes('_'))).toBe(false); // no stray snake_case copies
    expect(await saved('bn', c)).toMatchObject({ mh_adapter: true, output_adapter: true, reduction_factor: 16, non_linearity: 'relu' });
  });
  it('PfeifferConfig and CompacterConfig take either spelling and keep one value', () => {
    expect(PfeifferConfig({ reduction_factor: 8 }).reductionFactor).toBe(8);
    expect(PfeifferConfig({ reductionFactor: 8 })).toEqual(PfeifferConfig({ reduction_factor: 8 }));
    expect(CompacterConfig({ reduction_factor: 8 }).reductionFactor).toBe(8);
    expect(() => PfeifferConfig({ reduction_facter: 8 })).toThrow(AdapterConfigError);
    expect(() => PfeifferConfig({ reduction_facter: 8 })).toThrow(/no field 'reduction_facter'; did you mean 'reduction_factor'/);
    expect(() => AdapterConfig({ mh_adapter: true })).toThrow(/requires output_adapter, reduction_factor, non_linearity/);
  });
  it('PfeifferInvConfig()', async () => {
    expect(await saved('inv', PfeifferInvConfig())).toMatchObject({ inv_adapter: 'nice', inv_adapter_reduction_factor: 2, reduction_factor: 16 });
  });
  it("PrefixTuningConfig({ flat: false, prefix_length: 30 })", async () => {
    const c = PrefixTuningConfig({ flat: false, prefix_length: 30 });
    expect(c).toMatchObject({ flat: false, prefixLength: 30 });
    expect(await saved('prefix', c)).toMatchObject({ architecture: 'prefix_tuning', flat: false, prefix_length: 30 });
  });
  it('CompacterConfig()', async () => {
    // rf 32 on this tiny host (hidden 32) leaves a 1-wide bottleneck that phm_dim 4 cannot divide: a typed error
    expect(() => model.addAdapter('c0', CompacterConfig())).toThrow(/not divisible by phm_dim 4/);
    expect(await saved('compacter', CompacterConfig({ reduction_factor: 8 }))).toMatchObject({ phm_layer: true, phm_dim: 4, reduction_factor: 8 });
  });
  it('ConfigUnion(AdapterConfig(…), AdapterConfig(…))', async () => {
    const u = ConfigUnion(
      AdapterConfig({ mh_adapter: true, output_adapter: false, reduction_factor: 16, non_linearity: 'relu' }) as AdapterConfigBase,
      AdapterConfig({ mh_adapter: false, output_adapter: true, reduction_factor: 2, non_linearity: 'relu' }) as AdapterConfigBase,
    );
    const dict = await saved('union', u);
    expect(dict['architecture']).toBe('union');
    expect((dict['configs'] as Record<string, unknown>[]).map((c) => [c['mh_adapter'], c['output_adapter'], c['reduction_factor']])).toEqual([
      [true, false, 16],
      [false, true, 2],
    ]);
  });
  it('MAMConfig()', async () => {
    const dict = await saved('mam', MAMConfig());
    expect(dict['architecture']).toBe('union');
    expect((dict['configs'] as Record<string, unknown>[]).map((c) => c['architecture'] ?? 'bottleneck')).toEqual(['prefix_tuning', 'bottleneck']);
  });
});

describe('fields no host supports fail when set away from their default', () => {
  it('cross_adapter, encoder_prefix, cross_prefix', () => {
    expect(() => PfeifferConfig({ cross_adapter: true })).toThrow(/'cross_adapter' = True needs decoder cross-attention/);
    expect(() => PrefixTuningConfig({ encoder_prefix: false })).toThrow(/'encoder_prefix' = False only applies to encoder-decoder models/);
    expect(() => model.addAdapter('x', 'prefix_tuning[cross_prefix=False]')).toThrow(/the bert host is not/);
    expect(PfeifferConfig({ cross_adapter: false }).crossAdapter).toBe(false);
    expect(PrefixTuningConfig({ encoder_prefix: true, cross_prefix: true }).crossPrefix).toBe(true);
  });
});

type Ctor = (overrides: Record<string, unknown>) => object;
/** Every typed constructor with one field in both spellings and a non-default value. */
const CONSTRUCTORS: ReadonlyArray<readonly [string, Ctor, string, string, unknown]> = [
  ['PfeifferConfig', PfeifferConfig as Ctor, 'reduction_factor', 'reductionFactor', 8],
  ['HoulsbyConfig', HoulsbyConfig as Ctor, 'reduction_factor', 'reductionFactor', 8],
  ['ParallelConfig', ParallelConfig as Ctor, 'reduction_factor', 'reductionFactor', 8],
  ['CompacterConfig', CompacterConfig as Ctor, 'reduction_factor', 'reductionFactor', 8],
  ['CompacterPlusPlusConfig', CompacterPlusPlusConfig as Ctor, 'reduction_factor', 'reductionFactor', 8],
  ['PfeifferInvConfig', PfeifferInvConfig as Ctor, 'inv_adapter_reduction_factor', 'invAdapterReductionFactor', 4],
  ['HoulsbyInvConfig', HoulsbyInvConfig as Ctor, 'inv_adapter_reduction_factor', 'invAdapterReductionFactor', 4],
  ['LoRAConfig', LoRAConfig as Ctor, 'intermediate_lora', 'intermediateLora', true],
  ['IA3Config', IA3Config as Ctor, 'use_gating', 'useGating', true],
  ['PrefixTuningConfig', PrefixTuningConfig as Ctor, 'prefix_length', 'prefixLength', 12],
  ['PromptTuningConfig', PromptTuningConfig as Ctor, 'prompt_length', 'promptLength', 7],
  ['LoReftConfig', LoReftConfig as Ctor, 'prefix_positions', 'prefixPositions', 2],
  ['NoReftConfig', NoReftConfig as Ctor, 'prefix_positions', 'prefixPositions', 2],
  ['DiReftConfig', DiReftConfig as Ctor, 'prefix_positions', 'prefixPositions', 2],
];

describe('every typed config constructor: either spelling, one object, unknown keys refused, adapter_config.json round trip', () => {
  it.each(CONSTRUCTORS)('%s', async (ctorName, ctor, snake, camel, value) => {
    const a = ctor({ [snake]: value });
    const b = ctor({ [camel]: value });
    expect(a).toEqual(b);
    expect((a as Record<string, unknown>)[camel]).toEqual(value);
    expect(Object.keys(a).filter((k) => k.includes('_'))).toEqual([]); // no stray snake_case key next to the camelCase one
    expect(() => ctor({ no_such_field: 1 })).toThrow(expect.objectContaining({ code: expect.any(String), message: expect.stringContaining('no_such_field') }));
    expect(() => ctor({ no_such_field: 1 })).toThrow(AdapterConfigError);
    const dict = await saved(`rt_${ctorName}`, a);
    expect(dict[snake]).toEqual(value);
  });
});
