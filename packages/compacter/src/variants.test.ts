import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, AdapterModel, parseSafetensors, registerTrainingSupport, type ModelInputs } from '@adapterkit/core';
import { plugins as bottleneckPlugins, HoulsbyConfig, type BottleneckConfig, type BottleneckOverrides } from '@adapterkit/bottleneck';
import { loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CompacterConfig, CompacterPlusPlusConfig } from './config';
import { caseDir, GOLDEN_DIR, goldenModel } from './test-helpers';

const H = 32; // golden bert: hidden 32, 2 layers
const LAYERS = 2;

let model: AdapterModel;
let inputs: ModelInputs;
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport(); // gradient functions (tfjs-core registers none)
  model = await goldenModel('bert');
  inputs = goldenInputs(GOLDEN_DIR, 'bert');
  dir = mkdtempSync(join(tmpdir(), 'compacter-variants-'));
});

afterAll(() => {
  tf.dispose(Object.values(inputs) as tf.Tensor[]);
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  model.setActiveAdapters(null);
  for (const name of model.adapterNames()) model.deleteAdapter(name);
});

/** The parameter count of §3.6 for a config on golden bert. */
function expectedCount(c: BottleneckConfig): number {
  const n = c.phmDim;
  const k = c.phmRank ?? 1;
  const d = H / (c.reductionFactor as number);
  const w = (inF: number, outF: number): number => (c.factorizedPhmW ? n * (inF / n) * k + n * k * (outF / n) : n * (inF / n) * (outF / n));
  const rule = c.factorizedPhmRule ? 2 * n * n : n ** 3;
  const perModule = (c.sharedWPhm ? 0 : w(H, d) + w(d, H)) + (c.sharedPhmRule ? 0 : 2 * rule) + (c.phmBias ? d + H : 0);
  const modules = LAYERS * (Number(c.mhAdapter) + Number(c.outputAdapter));
  return modules * perModule + (c.sharedWPhm ? w(H, d) + w(d, H) : 0) + (c.sharedPhmRule ? rule : 0);
}

const VARIANTS: Array<[string, BottleneckOverrides, string[]]> = [
  ['default (factorised W, shared rule)', {}, ['adapter_down.0.W_left', 'adapter_up.W_right', 'shared_parameters.v.phm_rule']],
  ['non-factorised W', { factorizedPhmW: false }, ['adapter_down.0.W', 'adapter_up.W']],
  ['per-layer rules', { sharedPhmRule: false }, ['adapter_down.0.phm_rule', 'adapter_up.phm_rule']],
  ['per-layer factorised rules', { sharedPhmRule: false, factorizedPhmRule: true }, ['adapter_down.0.phm_rule_left', 'adapter_up.phm_rule_right']],
  ['shared factorised rule', { factorizedPhmRule: true }, ['shared_parameters.v.phm_rule_left', 'shared_parameters.v.phm_rule_right']],
  ['shared factorised W', { sharedWPhm: true }, ['shared_parameters.v.W_down_left', 'shared_parameters.v.W_down_right', 'shared_parameters.v.W_up_left', 'shared_parameters.v.W_up_right']],
  ['shared non-factorised W (NameError in the reference)', { sharedWPhm: true, factorizedPhmW: false }, ['shared_parameters.v.W_down', 'shared_parameters.v.W_up']],
  ['rank 3', { phmRank: 3 }, ['adapter_down.0.W_left']],
  ['no bias, phm_dim 2, rf 2', { phmBias: false, phmDim: 2, reductionFactor: 2 }, ['adapter_down.0.W_left']],
  ['phm_dim 8, uniform rule init', { phmDim: 8, phmCInit: 'uniform' }, ['shared_parameters.v.phm_rule']],
  ['compacter_custom (per-layer rule, full W, rf 4)', { sharedPhmRule: false, factorizedPhmW: false }, ['adapter_down.0.phm_rule', 'adapter_down.0.W']],
];

describe('PHM variants build, run, have the §3.6 parameter counts and round-trip through files', () => {
  it.each(VARIANTS)('%s', async (label, overrides, keyParts) => {
    for (const build of [CompacterConfig, CompacterPlusPlusConfig]) {
      const config = build({ reductionFactor: 4, ...overrides });
      model.addAdapter('v', config, { setActive: true });
      const keys = model.adapterParams('v').map((p) => p.key);
      for (const part of keyParts) expect(keys.some((k) => k.endsWith(part)), `${label}: no key ending in ${part}: ${keys.join(', ')}`).toBe(true);
      expect(keys.some((k) => k.endsWith('.b'))).toBe(config.phmBias === true);
      expect(model.adapterSummary()[0]!.numParams).toBe(expectedCount(config));
      const out = model.forward(inputs);
      expect(out.lastHiddenState.shape).toEqual([2, 12, H]);
      expect(Number.isFinite(tf.sum(out.lastHiddenState).arraySync() as number)).toBe(true);
      // our files hold every parameter, shared ones included, and reload bit-exactly
      const target = join(dir, 'v');
      await model.saveAdapter(target, 'v');
      const saved = parseSafetensors(new Uint8Array(readFileSync(join(target, 'adapter.safetensors'))), target).tensors;
      expect([...saved.keys()].sort()).toEqual([...keys].sort());
      model.deleteAdapter('v');
      await model.loadAdapter(target, { setActive: true });
      const again = model.forward(inputs);
      expect(maxAbsDiff(again.lastHiddenState, out.lastHiddenState)).toBe(0);
      tf.dispose([out, again] as never);
      model.deleteAdapter('v');
    }
  });

  it('the shared rule is used by every layer and both projections (one tensor, changes every module)', () => {
    model.addAdapter('v', CompacterConfig({ reductionFactor: 8 }), { setActive: true });
    const rule = model.adapterParams('v').find((p) => p.key === 'shared_parameters.v.phm_rule')!.variable;
    expect(model.adapterParams('v').filter((p) => p.key.includes('phm_rule'))).toHaveLength(1);
    const before = model.forward(inputs);
    rule.assign(tf.zerosLike(rule)); // H = 0 everywhere: every adapter reduces to its bias
    const after = model.forward(inputs);
    expect(maxAbsDiff(after.lastHiddenState, before.lastHiddenState)).toBeGreaterThan(0);
    tf.dispose([before, after] as never);
  });

  it('initialises as the reference: xavier-normal W, shared rule N(0, phm_init_range), per-layer rule N(0, 0.01) or U(-0.01, 0.01), zero bias', () => {
    const stats = (name: string, keyEnd: string): { max: number; values: number[] } => {
      const values = model.adapterParams(name).filter((p) => p.key.endsWith(keyEnd)).flatMap((p) => [...p.variable.dataSync()]);
      return { max: Math.max(...values.map(Math.abs)), values };
    };
    model.addAdapter('a', CompacterConfig({ reductionFactor: 8 }), { seed: 1 });
    expect(stats('a', '.b').max).toBe(0);
    expect(stats('a', 'phm_rule').max).toBeLessThan(6e-4); // 64 draws of N(0, 1e-4)
    const wl = stats('a', 'W_left').values; // [4, 8, 1] slices: std √(2/9)
    const std = Math.sqrt(wl.reduce((s, v) => s + v * v, 0) / wl.length);
    expect(std).toBeGreaterThan(0.3);
    expect(std).toBeLessThan(0.65);
    model.addAdapter('b', CompacterConfig({ reductionFactor: 8, sharedPhmRule: false }), { seed: 2 });
    const perLayer = stats('b', 'phm_rule');
    expect(perLayer.values).toHaveLength(8 * 64);
    expect(perLayer.max).toBeGreaterThan(0.01);
    expect(perLayer.max).toBeLessThan(0.06);
    model.addAdapter('c', CompacterConfig({ reductionFactor: 8, sharedPhmRule: false, phmCInit: 'uniform' }), { seed: 3 });
    expect(stats('c', 'phm_rule').max).toBeLessThanOrEqual(0.01);
    model.addAdapter('d', CompacterConfig({ reductionFactor: 8, phmCInit: 'uniform' }), { seed: 4 });
    expect(stats('d', 'phm_rule').max).toBeGreaterThan(0.5); // U(-1, 1)
    expect(stats('d', 'phm_rule').max).toBeLessThanOrEqual(1);
  });
});

describe('configs', () => {
  it('CompacterConfig = Houlsby + PHM, rf 32, gelu; CompacterPlusPlusConfig = Pfeiffer + the same', () => {
    const c = CompacterConfig();
    expect(c).toEqual({ ...HoulsbyConfig(), phmLayer: true, reductionFactor: 32, nonLinearity: 'gelu' });
    const pp = CompacterPlusPlusConfig({ phmDim: 2 });
    expect(pp).toMatchObject({ method: 'bottleneck', originalLnBefore: true, mhAdapter: false, outputAdapter: true, phmLayer: true, reductionFactor: 32, nonLinearity: 'gelu', phmDim: 2 });
  });

  it.each([
    ['compacter[reduction_factor=8]', () => CompacterConfig({ reductionFactor: 8 })],
    ['compacter++[reduction_factor=8, phm_rank=2, factorized_phm_W=True]', () => CompacterPlusPlusConfig({ reductionFactor: 8, phmRank: 2 })],
  ] as const)('config string %s resolves to the constructor config', (spec, build) => {
    model.addAdapter('s', spec);
    expect(model.requireAdapter('s').members[0]!.config).toEqual(build());
  });

  it.each([
    [{ phmDim: 0 }, /field 'phm_dim' must be a positive integer, got 0/],
    [{ phmRank: 1.5 }, /field 'phm_rank' .*must be an integer/],
    [{ phmCInit: null }, /field 'phm_c_init' must be 'normal' or 'uniform', got null/],
    [{ phmInitRange: null }, /field 'phm_init_range'/],
    [{ initWeights: 'mam_adapter' }, /field 'init_weights' = 'mam_adapter' is not supported with phm_layer=True/],
  ] as Array<[BottleneckOverrides, RegExp]>)('rejects %o', (overrides, message) => {
    expect(() => CompacterConfig(overrides)).toThrow(AdapterConfigError);
    expect(() => CompacterConfig(overrides)).toThrow(message);
  });
});

describe('invalid sizes fail at addAdapter with the numbers', () => {
  it.each([
    ['compacter', /^compacter: out_features 1 \(= hidden 32 \/\/ reduction_factor 32\) is not divisible by phm_dim 4 \(adapter 'x', layer 0 mh_adapter, down-projection\)/],
    ['compacter++', /^compacter: out_features 1 \(= hidden 32 \/\/ reduction_factor 32\) is not divisible by phm_dim 4 \(adapter 'x', layer 0 output_adapter/],
    ['compacter[reduction_factor=8, phm_dim=3]', /^compacter: in_features 32 \(= hidden\) is not divisible by phm_dim 3/],
    ['compacter[reduction_factor=8, phm_dim=8]', /^compacter: out_features 4 \(= hidden 32 \/\/ reduction_factor 8\) is not divisible by phm_dim 8/],
    ['compacter[reduction_factor=64]', /^compacter: out_features 1 \(= max\(1, hidden 32 \/\/ reduction_factor 64\)\) is not divisible by phm_dim 4/],
    ['compacter[reduction_factor={"0": 8, "default": 16}]', /^compacter: out_features 2 \(= hidden 32 \/\/ reduction_factor 16\) is not divisible by phm_dim 4 \(adapter 'x', layer 1 mh_adapter/],
    ['compacter[reduction_factor={"0": 4, "default": 8}, shared_W_phm=True]', /shared_W_phm=True shares W across layers, so every layer needs the same bottleneck size; .* gives 8 at layer 0, 4 at layer 1/],
    ['compacter[reduction_factor=16, shared_W_phm=True]', /^compacter: out_features 2 \(= hidden 32 \/\/ reduction_factor 16\) is not divisible by phm_dim 4/],
  ])('%s', (spec, message) => {
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      model.addAdapter('x', spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AdapterConfigError);
    expect((err as Error).message).toMatch(message);
    expect(model.hasAdapter('x')).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a per-layer reduction factor that is divisible everywhere works', () => {
    model.addAdapter('x', 'compacter[reduction_factor={"0": 4, "default": 8}]');
    const shapes = Object.fromEntries(model.adapterParams('x').map((p) => [p.key, p.variable.shape]));
    expect(shapes['encoder.layer.0.output.adapters.x.adapter_down.0.W_right']).toEqual([4, 1, 2]);
    expect(shapes['encoder.layer.1.output.adapters.x.adapter_down.0.W_right']).toEqual([4, 1, 1]);
  });

  it('phm_layer=True without this package names it', async () => {
    const m = new AdapterModel(await loadHost(`${GOLDEN_DIR}models/bert`), { methods: bottleneckPlugins, warn: () => undefined });
    try {
      expect(() => m.addAdapter('x', HoulsbyConfig({ phmLayer: true, reductionFactor: 8 }))).toThrow(/@adapterkit\/compacter/);
    } finally {
      m.dispose();
    }
  });
});

describe('memory and training', () => {
  it('numTensors stays flat over 50 forwards and across add/delete', () => {
    const start = tf.memory().numTensors;
    model.addAdapter('m', 'compacter[reduction_factor=8, factorized_phm_rule=True]', { setActive: true });
    model.addAdapter('m2', CompacterPlusPlusConfig({ reductionFactor: 8, sharedWPhm: true, sharedPhmRule: false }));
    tf.dispose(model.forward(inputs) as never);
    const base = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      tf.dispose(model.forward(inputs) as never);
      if (i === 25) model.setActiveAdapters('m2');
    }
    expect(tf.memory().numTensors).toBe(base);
    model.deleteAdapter('m');
    model.deleteAdapter('m2');
    expect(tf.memory().numTensors).toBe(start);
  });

  it('one SGD step after trainAdapter changes every parameter of the adapter (shared ones included) and nothing else', async () => {
    const name = 'compacter_rf8';
    await model.loadAdapter(caseDir('bert', name), { weightsPath: join(caseDir('bert', name), 'adapter_full.safetensors') });
    model.addAdapter('other', CompacterPlusPlusConfig({ reductionFactor: 8 }));
    model.trainAdapter(name);
    const snapshot = (vars: Iterable<tf.Variable>): Map<tf.Variable, tf.Tensor> => new Map([...vars].map((v) => [v, tf.clone(v)]));
    const adapterVars = model.adapterParams(name).map((p) => p.variable);
    const frozen = snapshot([...model.host.parameters.values(), ...model.adapterParams('other').map((p) => p.variable)]);
    const trained = snapshot(adapterVars);
    expect(new Set(model.trainableVariables())).toEqual(new Set(adapterVars));
    const opt = tf.train.sgd(0.1);
    const loss = opt.minimize(() => tf.mean(tf.square(model.forward(inputs, { training: true }).lastHiddenState)) as tf.Scalar, true, model.trainableVariables());
    loss!.dispose();
    opt.dispose();
    for (const [v, t] of frozen) expect(maxAbsDiff(v, t), v.name).toBe(0);
    for (const [v, t] of trained) expect(maxAbsDiff(v, t), v.name).toBeGreaterThan(0);
    expect([...trained.keys()].some((v) => v.name.endsWith('shared_parameters.compacter_rf8.phm_rule'))).toBe(true);
    tf.dispose([...frozen.values(), ...trained.values()]);
  });
});
