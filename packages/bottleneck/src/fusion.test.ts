import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, Fuse, readSafetensors, registerTrainingSupport, Stack, tensorEntryToTf, type ModelInputs } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addAdapterFusion,
  adapterFusionNames,
  adapterFusionParams,
  averageAdapter,
  deleteAdapterFusion,
  fusionRegularizationLoss,
  getFusionAttentions,
  loadAdapterFusion,
  outputFusionAttentions,
  resolveFusionConfig,
  saveAdapterFusion,
  trainAdapterFusion,
} from './index';
import { caseDir, disposeAfterEach, GOLDEN_DIR, goldenModel } from './test-helpers';

const FUSE_CASE = caseDir('bert', 'comp_fuse_dynamic');

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
  dir = mkdtempSync(join(tmpdir(), 'fusion-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { owned, tensors } = disposeAfterEach();

/** BERT with the golden fusion case's adapters `a` and `b` loaded. */
async function fuseModel(): Promise<{ model: AdapterModel; inputs: ModelInputs }> {
  const model = await goldenModel('bert');
  owned.push(model);
  await model.loadAdapter(join(FUSE_CASE, 'adapters', 'a'));
  await model.loadAdapter(join(FUSE_CASE, 'adapters', 'b'));
  const inputs = goldenInputs(GOLDEN_DIR, 'bert');
  tensors.push(...(Object.values(inputs) as tf.Tensor[]));
  return { model, inputs };
}

const trainableCount = (model: AdapterModel): number => model.trainableVariables().reduce((n, v) => n + v.size, 0);

describe('fusion configs', () => {
  it('static / dynamic presets, config strings, snake_case objects, and errors naming the field', () => {
    expect(resolveFusionConfig('static')).toMatchObject({ key: true, query: true, value: false, regularization: false, valueInitialized: false });
    expect(resolveFusionConfig()).toMatchObject({ value: true, regularization: true, valueInitialized: true, valueBeforeSoftmax: true });
    expect(resolveFusionConfig('static[temperature=True]').temperature).toBe(true);
    expect(resolveFusionConfig({ residual_before: true, dropoutProb: 0.2 })).toMatchObject({ residualBefore: true, dropoutProb: 0.2, value: true });
    expect(() => resolveFusionConfig('dynamc')).toThrow(/Unknown AdapterFusion config 'dynamc' \(known: static, dynamic\)/);
    expect(() => resolveFusionConfig({ valu: false })).toThrow(/unknown AdapterFusion field 'valu' \(did you mean 'value'\?\)/);
    expect(() => resolveFusionConfig({ temperature: 'yes' })).toThrow(/'temperature' must be a boolean/);
  });
});

describe('AdapterFusion on BERT', () => {
  it('dynamic fusion: 6272 parameters (the reference count), value initialised near the identity, names and keys', async () => {
    const { model } = await fuseModel();
    expect(addAdapterFusion(model, Fuse('a', 'b'))).toBe('a,b');
    expect(adapterFusionNames(model)).toEqual(['a,b']);
    const params = adapterFusionParams(model, 'a,b');
    expect(params.reduce((n, p) => n + p.variable.size, 0)).toBe(6272);
    expect(params.map((p) => p.key).slice(0, 5)).toEqual(
      ['query.weight', 'query.bias', 'key.weight', 'key.bias', 'value.weight'].map((s) => `encoder.layer.0.output.adapter_fusion_layer.a,b.${s}`),
    );
    const value = params.find((p) => p.key.endsWith('value.weight'))!.variable;
    const v = value.arraySync() as number[][];
    expect(v[0]![0]).toBe(1);
    expect(v[0]![1]).toBeCloseTo(1e-6, 12);
    expect(() => addAdapterFusion(model, 'a,b')).toThrow(/AdapterFusion 'a,b' already exists/);
    addAdapterFusion(model, 'a,b', 'static', { overwriteOk: true, setActive: true });
    expect(adapterFusionParams(model, 'a,b').reduce((n, p) => n + p.variable.size, 0)).toBe(4224);
    expect(model.activeAdapters?.children[0]).toMatchObject({ type: 'Fuse' });
  });

  it('trainAdapterFusion trains only the fusion (6272) unless unfreezeAdapters (+908); trainAdapter freezes it again', async () => {
    const { model } = await fuseModel();
    await loadAdapterFusion(model, join(FUSE_CASE, 'fusion'));
    trainAdapterFusion(model, Fuse('a', 'b'));
    expect(trainableCount(model)).toBe(6272);
    expect(model.activeAdapters?.children[0]).toMatchObject({ type: 'Fuse' });
    trainAdapterFusion(model, Fuse('a', 'b'), { unfreezeAdapters: true });
    expect(trainableCount(model)).toBe(6272 + 908);
    model.trainAdapter(Stack('a'));
    expect(trainableCount(model)).toBe(324);
    expect(() => trainAdapterFusion(model, Stack('a', 'b'))).toThrow(/needs a setup with a Fuse block/);
  });

  it('gradients reach the fusion weights; the regularisation loss is 0.01·Σ‖I − W_v‖² (0 at the identity)', async () => {
    const { model, inputs } = await fuseModel();
    addAdapterFusion(model, ['a', 'b']);
    trainAdapterFusion(model, Fuse('a', 'b'));
    const values = adapterFusionParams(model, 'a,b').filter((p) => p.key.endsWith('value.weight'));
    for (const p of values) p.variable.assign(tf.eye(32));
    const zero = fusionRegularizationLoss(model);
    expect(zero.dataSync()[0]).toBe(0);
    zero.dispose();
    values[0]!.variable.assign(tf.mul(tf.eye(32), 2)); // ‖I − 2I‖² = 32
    values[1]!.variable.assign(tf.add(tf.eye(32), 0.5)); // ‖0.5·1‖² = 1024·0.25 = 256
    const reg = fusionRegularizationLoss(model);
    expect(reg.dataSync()[0]).toBeCloseTo(0.01 * (32 + 256), 5);
    reg.dispose();
    const vars = model.trainableVariables();
    const { value, grads } = tf.variableGrads(() => tf.add(tf.mean(tf.square(model.forward(inputs, { training: true }).lastHiddenState)), fusionRegularizationLoss(model)) as tf.Scalar, vars);
    expect(Object.keys(grads)).toHaveLength(vars.length);
    const norms = Object.values(grads).map((g) => tf.tidy(() => tf.norm(g).dataSync()[0]!));
    expect(norms.every((n) => n > 0)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    const noFusion = await goldenModel('bert');
    owned.push(noFusion);
    const none = fusionRegularizationLoss(noFusion);
    expect(none.dataSync()[0]).toBe(0);
    none.dispose();
  });

  it('save → load round trip: the reference config file byte for byte, identical outputs, loadAs', async () => {
    const { model, inputs } = await fuseModel();
    await loadAdapterFusion(model, join(FUSE_CASE, 'fusion'), { setActive: true });
    const before = model.forward(inputs).lastHiddenState;
    tensors.push(before);
    const target = join(dir, 'round-trip');
    await saveAdapterFusion(model, target, Fuse('a', 'b'));
    expect(readFileSync(join(target, 'adapter_fusion_config.json'), 'utf8')).toBe(readFileSync(join(FUSE_CASE, 'fusion', 'adapter_fusion_config.json'), 'utf8'));
    const ours = await readSafetensors(join(target, 'model_adapter_fusion.safetensors'));
    const ref = await readSafetensors(join(FUSE_CASE, 'fusion', 'fusion.safetensors'));
    expect([...ours.tensors.keys()].sort()).toEqual([...ref.tensors.keys()].sort());
    for (const [k, t] of ref.tensors) {
      const [a, b] = [tensorEntryToTf(t), tensorEntryToTf(ours.tensors.get(k)!)];
      expect(maxAbsDiff(a, b), k).toBe(0);
      tf.dispose([a, b]);
    }
    deleteAdapterFusion(model, 'a,b');
    expect(model.activeAdapters).toBeUndefined();
    expect(adapterFusionNames(model)).toEqual([]);
    expect(await loadAdapterFusion(model, target, { setActive: true })).toBe('a,b');
    const after = model.forward(inputs).lastHiddenState;
    tensors.push(after);
    expect(maxAbsDiff(after, before)).toBe(0);
    // the same weights fusing other adapters of the same shapes
    await model.loadAdapter(join(FUSE_CASE, 'adapters', 'a'), { loadAs: 'a2' });
    await model.loadAdapter(join(FUSE_CASE, 'adapters', 'b'), { loadAs: 'b2' });
    expect(await loadAdapterFusion(model, target, { loadAs: ['a2', 'b2'], setActive: true })).toBe('a2,b2');
    const renamed = model.forward(inputs).lastHiddenState;
    tensors.push(renamed);
    expect(maxAbsDiff(renamed, before)).toBe(0);
  });

  it('loading validates before touching the model: missing adapters, mismatched keys, unknown files', async () => {
    const { model } = await fuseModel();
    model.deleteAdapter('b');
    await expect(loadAdapterFusion(model, join(FUSE_CASE, 'fusion'))).rejects.toThrow(/No adapter named 'b'/);
    await model.loadAdapter(join(FUSE_CASE, 'adapters', 'b'));
    const bad = join(dir, 'bad');
    await expect(saveAdapterFusion(model, bad, 'a,b')).rejects.toThrow(/No AdapterFusion 'a,b' \(have: none\)/);
    addAdapterFusion(model, 'a,b', 'static');
    await saveAdapterFusion(model, bad, 'a,b');
    deleteAdapterFusion(model, 'a,b');
    // a static file read as dynamic: value.weight missing
    const cfg = JSON.parse(readFileSync(join(bad, 'adapter_fusion_config.json'), 'utf8'));
    cfg.config.value = true;
    writeFileSync(join(bad, 'adapter_fusion_config.json'), JSON.stringify(cfg));
    const start = tf.memory().numTensors;
    await expect(loadAdapterFusion(model, bad)).rejects.toThrow(/missing: encoder\.layer\.0\.output\.adapter_fusion_layer\.a,b\.value\.weight/);
    expect(tf.memory().numTensors).toBe(start);
    expect(adapterFusionNames(model)).toEqual([]);
    await expect(loadAdapterFusion(model, join(dir, 'nowhere'))).rejects.toThrow(/adapter_fusion_config\.json: cannot read/);
  });

  it('fusion attention probabilities on request: per fusion, layer and location, [batch][seq][adapters], rows sum to 1', async () => {
    const { model, inputs } = await fuseModel();
    await loadAdapterFusion(model, join(FUSE_CASE, 'fusion'), { setActive: true });
    tf.dispose(model.forward(inputs) as never);
    expect(getFusionAttentions(model)).toEqual({});
    outputFusionAttentions(model);
    tf.dispose(model.forward(inputs) as never);
    const att = getFusionAttentions(model);
    expect(Object.keys(att)).toEqual(['a,b']);
    expect(Object.keys(att['a,b']!)).toEqual(['0', '1']);
    const probs = att['a,b']![1]!.output_adapter!;
    expect([probs.length, probs[0]!.length, probs[0]![0]!.length]).toEqual([2, 12, 2]);
    for (const row of probs.flat()) expect(row[0]! + row[1]!).toBeCloseTo(1, 5);
    outputFusionAttentions(model, false);
    expect(getFusionAttentions(model)).toEqual({});
  });

  it('numTensors stays flat over forwards and across add/delete of fusions', async () => {
    const { model, inputs } = await fuseModel();
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      addAdapterFusion(model, Fuse('a', 'b'), 'dynamic', { setActive: true });
      tf.dispose(model.forward(inputs, { training: true }) as never);
      deleteAdapterFusion(model, Fuse('a', 'b'));
    }
    expect(tf.memory().numTensors).toBe(start);
    addAdapterFusion(model, Fuse('a', 'b'), 'dynamic', { setActive: true });
    outputFusionAttentions(model);
    const mid = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(model.forward(inputs) as never);
    expect(tf.memory().numTensors).toBe(mid);
  });
});

describe('averageAdapter (parameter averaging, `adapters`\' linear strategy)', () => {
  it('Φ = Σ λ_i Φ_i with normalised weights; the averaged adapter runs and saves like any adapter', async () => {
    const { model, inputs } = await fuseModel();
    await model.loadAdapter(join(FUSE_CASE, 'adapters', 'a'), { loadAs: 'a2' });
    for (const p of model.adapterParams('a2')) p.variable.assign(tf.mul(p.variable, -1));
    averageAdapter(model, 'avg', ['a', 'a2'], [3, 1], { setActive: true });
    const key = (n: string): string => `encoder.layer.1.output.adapters.${n}.adapter_up.weight`;
    const got = model.adapterParams('avg').find((p) => p.key === key('avg'))!.variable;
    const expected = tf.tidy(() => tf.mul(model.adapterParams('a').find((p) => p.key === key('a'))!.variable, 0.5));
    tensors.push(expected);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-7);
    expect(model.adapterSummary().find((r) => r.name === 'avg')!.numParams).toBe(324);
    tensors.push(model.forward(inputs).lastHiddenState);
    averageAdapter(model, 'same', ['a', 'a']);
    const same = model.adapterParams('same').find((p) => p.key === key('same'))!.variable;
    expect(maxAbsDiff(same, model.adapterParams('a').find((p) => p.key === key('a'))!.variable)).toBeLessThan(1e-7);
    expect(() => averageAdapter(model, 'x', ['a', 'b'])).toThrow(/different configs: 'b' differs from 'a'/);
    expect(() => averageAdapter(model, 'x', ['a', 'a2'], [1])).toThrow(/1 weights for 2 adapters/);
    expect(() => averageAdapter(model, 'avg', ['a'])).toThrow(/already exists/);
    expect(model.hasAdapter('x')).toBe(false);
  });
});
