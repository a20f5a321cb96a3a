import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { parseSafetensors, registerTrainingSupport, serializeAdapter, type AdapterModel } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ejectPrefixTuning } from './index';
import { caseDir, compareWithGolden, disposeAll, goldenInputs, goldenModel, maxAbsDiff, readTensors } from './test-helpers';

const ATOL = 1e-4;

interface Meta {
  readonly adapter_name: string;
  readonly trainable_params: number;
  readonly config: Record<string, unknown>;
}

const CASES = [
  { id: 'bert/prefix_tuning', model: 'bert', reparameterised: true },
  { id: 'bert/prefix_tuning_flat', model: 'bert', reparameterised: false },
  { id: 'gpt2/prefix_tuning', model: 'gpt2', reparameterised: true },
] as const;

describe.each(CASES)('golden $id', ({ id, model: modelName, reparameterised }) => {
  const dir = caseDir(id);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  const lmLogits = modelName === 'gpt2';
  let model: AdapterModel;
  let ref: Map<string, tf.Tensor>;
  let tmp: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    ref = await readTensors(join(dir, 'output.safetensors'));
    tmp = mkdtempSync(join(tmpdir(), 'prefix-tuning-'));
  });
  afterAll(() => {
    model?.dispose();
    tf.dispose([...ref.values()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const forwardDiff = (m: AdapterModel, suffix = ''): number => {
    const inputs = goldenInputs(modelName);
    const out = m.forward(inputs, { lmLogits });
    const d = compareWithGolden(ref, out, suffix);
    disposeAll(out);
    disposeAll(inputs);
    return d;
  };

  it('loads the reference file (aliases included) and matches its outputs and parameter count', async () => {
    model = await goldenModel(modelName);
    const name = await model.loadAdapter(dir);
    expect(name).toBe(meta.adapter_name);
    model.setActiveAdapters(name);
    expect(model.adapterSummary()[0]!.numParams).toBe(meta.trainable_params);
    expect(model.adapterSummary()[0]!.architecture).toBe('prefix_tuning');
    const d = forwardDiff(model);
    console.log(`${id}: max |diff| ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(ATOL);
  });

  it('saves each tensor once under its canonical key, with the reference config dict', async () => {
    const files = await serializeAdapter(model, meta.adapter_name);
    const config = JSON.parse(files['adapter_config.json'] as string) as { config: unknown };
    expect(config.config).toEqual(meta.config);
    expect(files['adapter_config.json']).toContain('"dropout": 0.0');
    const { tensors } = parseSafetensors(files['adapter.safetensors'] as Uint8Array, 'saved');
    const keys = [...tensors.keys()];
    expect(keys.every((k) => k.startsWith(`prefix_tuning.prefix_tunings.${meta.adapter_name}.self_prefix.`))).toBe(true);
    expect(keys.some((k) => k.includes('.prefix_tuning.pool.'))).toBe(false);
    expect(keys.length).toBe(reparameterised ? 5 : 1);
  });

  it('reloads its own saved file to the same outputs', async () => {
    await model.saveAdapter(join(tmp, 'saved'), meta.adapter_name);
    const fresh = await goldenModel(modelName);
    try {
      const name = await fresh.loadAdapter(join(tmp, 'saved'), { setActive: true });
      expect(fresh.adapterSummary()[0]!.numParams).toBe(meta.trainable_params);
      expect(forwardDiff(fresh)).toBeLessThanOrEqual(ATOL);
      expect(name).toBe(meta.adapter_name);
    } finally {
      fresh.dispose();
    }
  });

  it('ejectPrefixTuning keeps the outputs, equals the reference control_trans and shrinks the file', async () => {
    const name = meta.adapter_name;
    const before = (await serializeAdapter(model, name))['adapter.safetensors'] as Uint8Array;
    ejectPrefixTuning(model, name);
    expect(model.activeAdapters).toBeDefined();
    const d = forwardDiff(model, '_ejected');
    console.log(`${id} (ejected): max |diff| ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(ATOL);

    const ejected = await readTensors(join(dir, 'adapter_ejected_prefix.safetensors'));
    const prefix = modelName === 'gpt2' ? 'transformer.' : '';
    const refFlat = ejected.get(`${prefix}prefix_tuning.prefix_tunings.${name}.self_prefix.control_trans`)!;
    const params = model.adapterParams(name);
    expect(params.map((p) => p.key)).toEqual([`prefix_tuning.prefix_tunings.${name}.self_prefix.control_trans`]);
    expect(model.adapterSummary()[0]!.numParams).toBe(refFlat.size);
    expect(maxAbsDiff(params[0]!.variable, refFlat)).toBeLessThanOrEqual(1e-5);
    tf.dispose([...ejected.values()]);

    const files = await serializeAdapter(model, name);
    const after = files['adapter.safetensors'] as Uint8Array;
    expect(JSON.parse(files['adapter_config.json'] as string).config.flat).toBe(true);
    if (reparameterised) expect(after.length).toBeLessThan(before.length);
    else expect(after.length).toBe(before.length);

    await model.saveAdapter(join(tmp, 'ejected'), name);
    const fresh = await goldenModel(modelName);
    try {
      await fresh.loadAdapter(join(tmp, 'ejected'), { setActive: true });
      expect(forwardDiff(fresh, '_ejected')).toBeLessThanOrEqual(ATOL);
    } finally {
      fresh.dispose();
    }
  });
});

describe('golden bert/train_prefix_tuning', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await registerTrainingSupport();
  });

  it('gradients of the prefix parameters match the reference (|a−b| ≤ 1e-5 + 1e-3·|b|)', async () => {
    const dir = caseDir('bert/train_prefix_tuning');
    const model = await goldenModel('bert');
    const name = await model.loadAdapter(caseDir('bert/prefix_tuning'));
    model.trainAdapter(name);
    const head = await readTensors(join(dir, 'head.safetensors'));
    const refGrads = await readTensors(join(dir, 'grads.safetensors'));
    const refOut = await readTensors(join(dir, 'output.safetensors'));
    const inputs = goldenInputs('bert');
    const labels = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3);
    const params = model.adapterParams(name);
    const { value: loss, grads } = tf.variableGrads(() => {
      const h = model.forward(inputs).lastHiddenState;
      const cls = tf.reshape(tf.slice(h, [0, 0, 0], [2, 1, 32]), [2, 32]);
      const logits = tf.add(tf.matMul(cls, tf.transpose(head.get('weight')!)), head.get('bias')!);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, params.map((p) => p.variable));
    expect(Math.abs(loss.dataSync()[0]! - refOut.get('loss')!.dataSync()[0]!)).toBeLessThan(1e-4);
    expect(Object.keys(grads).length).toBe(params.length);
    for (const p of params) {
      const refKey = p.aliases.find((k) => refGrads.has(k))!;
      const ref = refGrads.get(refKey)!;
      const ours = p.layout === 'linear' ? tf.transpose(grads[p.variable.name]!) : grads[p.variable.name]!;
      const worst = tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(ours, ref)), tf.add(1e-5, tf.mul(1e-3, tf.abs(ref))))).dataSync()[0]!);
      expect(worst, p.key).toBeLessThanOrEqual(1);
    }
    tf.dispose([loss, labels, ...Object.values(grads), ...head.values(), ...refGrads.values(), ...refOut.values()]);
    disposeAll(inputs);
    model.dispose();
  });
});
