import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport, Rng, type AdapterModel } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addClassificationHead,
  batchLoss,
  collate,
  collectTrainable,
  disposeHeads,
  resolveScoring,
  train,
  type GradientContext,
  type GradientSource,
  type MicroBatchGradients,
  type TrainEvent,
  type TrainExample,
  type TrainOptions,
} from './index';
import { classificationData, tinyModel } from './test-helpers';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
  tmp = mkdtempSync(join(tmpdir(), 'gradient-source-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(): AdapterModel {
  const model = tinyModel(0);
  model.addAdapter('task', 'pfeiffer[reduction_factor=2]', { seed: 5 });
  addClassificationHead(model, 'task', { numLabels: 2, seed: 6 });
  return model;
}

function dispose(model: AdapterModel): void {
  disposeHeads(model);
  model.dispose();
}

function weights(model: AdapterModel): Map<string, Float32Array> {
  return new Map(collectTrainable(model).map((p) => [p.key, Float32Array.from(p.variable.dataSync() as Float32Array)]));
}

/**
 * A source computing on a second model (a "replica"): it copies `main`'s trainable values first, as a data-parallel
 * pool does, and draws dropout from (seed, step, micro-batch) only. Records the contexts it was called with.
 */
function replicaSource(main: AdapterModel, replica: AdapterModel): GradientSource & { calls: GradientContext[] } {
  replica.trainAdapter('task');
  const params = collectTrainable(replica);
  const mainParams = () => collectTrainable(main);
  const calls: GradientContext[] = [];
  return {
    calls,
    paramKeys: params.map((p) => p.key),
    async gradients(examples: readonly TrainExample[], ctx: GradientContext): Promise<MicroBatchGradients> {
      calls.push(ctx);
      const current = mainParams();
      params.forEach((p, i) => p.variable.assign(current[i]!.variable));
      const scoring = resolveScoring(replica, {}, examples[0], 'test');
      const rng = ctx.training ? new Rng(ctx.seed * 1000 + ctx.step * 10 + ctx.microBatch) : undefined;
      const out = tf.tidy(() => {
        const batch = collate(examples, scoring.padTokenId, scoring.labelKind);
        const { value, grads } = tf.variableGrads(() => batchLoss(replica, scoring, batch, ctx.training, rng), params.map((p) => p.variable));
        return { value, weight: batch.weight, numTokens: batch.numTokens, grads: params.map((p) => grads[p.variable.name]) };
      });
      const loss = (await out.value.data())[0]!;
      out.value.dispose();
      return { loss, weight: out.weight, numTokens: out.numTokens, grads: out.grads };
    },
  };
}

describe('train() with a gradientSource', () => {
  it('equals the local path (no dropout) with accumulation over uneven micro-batches, and keeps the tensor count flat', async () => {
    // 10 examples, batch 3, accumulation 2: micro-batches of 3,3 | 3,1 — the last step has one fewer example
    const opts: TrainOptions = { adapter: 'task', trainData: classificationData(10), batchSize: 3, gradientAccumulationSteps: 2, epochs: 2, lr: 1e-2, maxGradNorm: 0.5, weightDecay: 0.01, dropout: false, seed: 3 };
    const local = setup();
    const localLoss: number[] = [];
    await train(local, { ...opts, onProgress: (e) => e.type === 'step' && localLoss.push(e.loss) });

    const main = setup();
    const replica = setup();
    const source = replicaSource(main, replica);
    const before = tf.memory().numTensors;
    const loss: number[] = [];
    const r = await train(main, { ...opts, gradientSource: source, onProgress: (e) => e.type === 'step' && loss.push(e.loss) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.step).toBe(4);
    expect(source.calls.map((c) => [c.step, c.microBatch, c.microBatches])).toEqual([
      [0, 0, 2],
      [0, 1, 2],
      [1, 0, 2],
      [1, 1, 2],
      [2, 0, 2],
      [2, 1, 2],
      [3, 0, 2],
      [3, 1, 2],
    ]);
    expect(loss).toHaveLength(localLoss.length);
    loss.forEach((l, i) => expect(l).toBeCloseTo(localLoss[i]!, 5));
    const want = weights(local);
    const got = weights(main);
    for (const [k, v] of want) {
      const g = got.get(k)!;
      for (let i = 0; i < v.length; i++) expect(Math.abs(g[i]! - v[i]!), k).toBeLessThan(1e-5 + 1e-4 * Math.abs(v[i]!));
    }
    for (const m of [local, main, replica]) dispose(m);
  });

  it('evaluates on the model, checkpoints and resumes to the same weights as an uninterrupted run (with dropout)', async () => {
    const dir = join(tmp, 'resume');
    const opts: TrainOptions = { adapter: 'task', trainData: classificationData(12), evalData: classificationData(6), evalEvery: 2, batchSize: 4, maxSteps: 6, lr: 3e-3, seed: 9, keepBest: true };
    const runWith = async (extra: Partial<TrainOptions>): Promise<{ w: Map<string, Float32Array>; events: TrainEvent[]; history: unknown }> => {
      const main = setup();
      const replica = setup();
      const events: TrainEvent[] = [];
      const r = await train(main, { ...opts, ...extra, gradientSource: replicaSource(main, replica), onProgress: (e) => events.push(e) });
      const w = weights(main);
      dispose(main);
      dispose(replica);
      return { w, events, history: r.history };
    };
    const full = await runWith({ checkpointDir: dir, checkpointEvery: 3 });
    expect(full.events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([2, 4, 6]);
    expect(full.events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([3, 6]);
    const resumed = await runWith({ resumeFrom: join(dir, 'checkpoint-3') });
    expect(resumed.events.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step)).toEqual([4, 5, 6]);
    expect(resumed.history).toEqual(full.history);
    for (const [k, v] of full.w) expect(resumed.w.get(k), k).toEqual(v);
  });

  it('rejects a source whose parameters are not the trainable ones, before the first step', async () => {
    const main = setup();
    const source: GradientSource = {
      paramKeys: ['nope'],
      gradients: () => Promise.reject(new Error('must not be called')),
    };
    await expect(train(main, { adapter: 'task', trainData: classificationData(4), gradientSource: source })).rejects.toMatchObject({ code: 'BAD_TRAIN_OPTIONS', message: expect.stringContaining("parameter 0 is nope") });
    dispose(main);
  });
});
