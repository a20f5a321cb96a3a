import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingSupport, Stack, type AdapterModel } from '@adapterkit/core';
import { closeness, readTensors } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeAdapter, resetAdapter } from './index';
import { buildModel, caseDir, disposeAll, inputsFor, readMeta, run, snapshot, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe.each(['bert', 'gpt2'] as GoldenModel[])('%s memory', (modelName) => {
  it('tf.memory().numTensors stays flat over 50 forwards, merge/reset and add/delete', async () => {
    const model = await buildModel(modelName);
    const inputs = inputsFor(modelName);
    const start = tf.memory().numTensors;
    model.addAdapter('a', 'lora[r=2, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True, use_gating=True, dropout=0.1, init_weights="bert"]');
    model.addAdapter('b', 'ia3[use_gating=True]');
    model.addAdapter('c', 'lora[init_weights="bert"]');
    const setups = ['a', 'b', Stack('c', 'b'), 'c'] as const;
    const forwardOnce = (i: number): void => {
      model.setActiveAdapters(setups[i % setups.length]!);
      disposeAll(run(model, inputs, { training: i % 3 === 0 }));
    };
    forwardOnce(0);
    const afterFirst = tf.memory().numTensors;
    for (let i = 1; i <= 50; i++) forwardOnce(i);
    expect(tf.memory().numTensors).toBe(afterFirst);
    model.setActiveAdapters('c');
    mergeAdapter(model, 'c');
    disposeAll(run(model, inputs));
    resetAdapter(model);
    expect(tf.memory().numTensors).toBe(afterFirst);
    for (const n of ['a', 'b', 'c']) model.deleteAdapter(n);
    expect(tf.memory().numTensors).toBe(start);
    disposeAll(inputs);
    model.dispose();
  });
});

/** The golden training case's loss: cross-entropy of `head(last_hidden_state[:, 0])` against labels [1, 2]. */
function headLoss(model: AdapterModel, inputs: ReturnType<typeof inputsFor>, head: Map<string, tf.Tensor>, labels: tf.Tensor2D): tf.Scalar {
  const h = model.forward(inputs).lastHiddenState;
  const first = tf.reshape(tf.slice(h, [0, 0, 0], [h.shape[0], 1, h.shape[2]]), [h.shape[0], h.shape[2]]);
  const logits = tf.add(tf.matMul(first, tf.transpose(head.get('weight')!)), head.get('bias')!);
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

describe('training (golden bert/train_lora)', () => {
  it('gradients of the LoRA parameters match the reference; a step changes only LoRA parameters', async () => {
    const model = await buildModel('bert');
    const inputs = inputsFor('bert');
    await model.loadAdapter(caseDir('bert', 'lora'));
    model.trainAdapter('lora');
    const dir = caseDir('bert', 'train_lora');
    const head = await readTensors(join(dir, 'head.safetensors'));
    const golden = await readTensors(join(dir, 'grads.safetensors'));
    const labels = tf.oneHot(tf.tensor1d(readMeta('bert', 'train_lora')['labels'] as number[], 'int32'), 3) as tf.Tensor2D;

    const params = model.adapterParams('lora');
    const trainable = model.trainableVariables();
    expect(trainable.length).toBe(params.length);
    expect(trainable.every((v) => params.some((p) => p.variable === v))).toBe(true);

    const { value, grads } = tf.variableGrads(() => headLoss(model, inputs, head, labels), trainable);
    expect(Math.abs(value.dataSync()[0]! - (readMeta('bert', 'train_lora')['loss'] as number))).toBeLessThanOrEqual(1e-4);
    let worst = 0;
    for (const p of params) {
      const ours = p.layout === 'linear' ? tf.transpose(grads[p.variable.name]!) : grads[p.variable.name]!;
      const c = closeness(ours, golden.get(p.key)!, 1e-5, 1e-3);
      worst = Math.max(worst, c);
      if (ours !== grads[p.variable.name]) ours.dispose();
    }
    console.log(`train_lora gradient closeness (≤ 1 passes): ${worst.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(1);
    tf.dispose([value, ...Object.values(grads)]);

    const baseBefore = snapshot(model);
    const loraBefore = params.map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => headLoss(model, inputs, head, labels), false, trainable)?.dispose();
    const baseAfter = snapshot(model);
    for (const [k, v] of baseBefore) expect(Buffer.from(baseAfter.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
    params.forEach((p, i) => expect(Array.from(p.variable.dataSync()), p.key).not.toEqual(Array.from(loraBefore[i]!)));

    optimizer.dispose();
    tf.dispose([...head.values(), ...golden.values(), labels]);
    disposeAll(inputs);
    model.dispose();
  });
});
