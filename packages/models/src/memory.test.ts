import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingSupport, Rng } from '@adapterkit/core';
import { NO_HOOKS, type ModelInputs } from './core';
import { batchMatMul } from './base';
import { loadHost, type ModelHost } from './index';
import { disposeInputs, disposeOutputs, goldenInputs, maxAbsDiff, modelDir, RecordingRunner, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe.each(['bert', 'roberta', 'gpt2'] as GoldenModel[])('%s memory and training', (model) => {
  let host: ModelHost;
  let inputs: ModelInputs;
  beforeAll(async () => {
    host = await loadHost(modelDir(model));
    inputs = await goldenInputs(model);
  });
  afterAll(() => {
    disposeInputs(inputs);
    host.dispose();
  });

  it('20 forwards inside tf.tidy leave tf.memory().numTensors flat', () => {
    const run = (training: boolean): void => {
      tf.tidy(() => {
        host.forward(inputs, new RecordingRunner(), { training, ...(training ? { rng: new Rng(7) } : {}), lmLogits: true });
      });
    };
    run(false);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) run(i % 2 === 0);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('forward is self-contained: only the returned tensors survive', () => {
    const start = tf.memory().numTensors;
    const out = host.forward(inputs, NO_HOOKS, { training: false, lmLogits: true });
    const returned = [out.lastHiddenState, out.poolerOutput, out.logits].filter((t) => t !== undefined).length;
    expect(tf.memory().numTensors).toBe(start + returned);
    disposeOutputs(out);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('dropout only when training', () => {
    const a = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    const b = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    const c = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: true, rng: new Rng(1) }).lastHiddenState);
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, c]);
  });

  it('gradients reach every parameter and do not leak', () => {
    const start = tf.memory().numTensors;
    const vars = [...host.parameters.values()];
    const { value, grads } = tf.variableGrads(() => {
      const out = host.forward(inputs, NO_HOOKS, { training: false, lmLogits: true });
      const h = tf.sum(tf.square(out.lastHiddenState));
      const extra = out.poolerOutput ? tf.sum(out.poolerOutput) : tf.sum(out.logits!);
      return tf.add(h, extra) as tf.Scalar;
    }, vars);
    expect(Object.keys(grads)).toHaveLength(vars.length);
    for (const v of vars) {
      const g = grads[v.name]!;
      expect(g.shape, v.name).toEqual(v.shape);
      const norm = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!);
      expect(Number.isFinite(norm), v.name).toBe(true);
      expect(norm, v.name).toBeGreaterThan(0);
    }
    value.dispose();
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe('batchMatMul', () => {
  it('matches tf.matMul in value and gradient', () => {
    const a = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomNormal([2, 3, 5, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
    const w = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 3);
    const f1 = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(batchMatMul(x as tf.Tensor4D, y as tf.Tensor4D), w));
    const f2 = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D), w));
    const [ga1, gb1] = tf.grads(f1)([a, b]);
    const [ga2, gb2] = tf.grads(f2)([a, b]);
    expect(maxAbsDiff(ga1!, ga2!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(gb1!, gb2!)).toBeLessThan(1e-5);
    tf.dispose([a, b, w, ga1!, gb1!, ga2!, gb2!]);
  });
});
