import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ParamCollector, registerTrainingSupport, type AdapterModel } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  AdamW,
  addClassificationHead,
  addMaskedLmHead,
  addMultipleChoiceHead,
  clipByGlobalNorm,
  collate,
  collectTrainable,
  decays,
  disposeHeads,
  evaluate,
  forwardWithHeads,
  getHeads,
  learningRate,
  macroF1,
  matthewsCorrelation,
  train,
  TrainingInterruptedError,
  type ChoiceExample,
  type Example,
  type TrainEvent,
  type TrainOptions,
} from './index';
import { classificationData, tinyModel } from './test-helpers';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
  tmp = mkdtempSync(join(tmpdir(), 'training-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(seed = 0): AdapterModel {
  const model = tinyModel(seed);
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

describe('building blocks', () => {
  it('schedules: linear and cosine decay to 0 after warm-up; the first warm-up step has lr 0 (HF)', () => {
    const o = { baseLr: 1, warmupSteps: 2, totalSteps: 10 } as const;
    expect([0, 1, 2, 6, 10].map((s) => learningRate(s, { ...o, schedule: 'linear' }))).toEqual([0, 0.5, 1, 0.5, 0]);
    expect(learningRate(6, { ...o, schedule: 'cosine' })).toBeCloseTo(0.5, 10);
    expect(learningRate(4, { ...o, schedule: 'cosine' })).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 10);
    expect(learningRate(9, { ...o, schedule: 'constant' })).toBe(1);
  });

  it('AdamW matches torch.optim.AdamW for one step (decoupled decay, none on biases)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new AdamW({ weightDecay: 0.1 });
    const g = [tf.tensor1d([0.1, -0.3]), tf.tensor1d([2])];
    opt.apply([{ key: 'w', variable: w, decay: true }, { key: 'b', variable: b, decay: false }], g, 0.01);
    // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) ≈ lr·sign(g)
    const expectW = [1 * (1 - 0.001) - 0.01 * (0.1 / (0.1 + 1e-8)), -2 * (1 - 0.001) + 0.01 * (0.3 / (0.3 + 1e-8))];
    expect(w.dataSync()[0]).toBeCloseTo(expectW[0]!, 6);
    expect(w.dataSync()[1]).toBeCloseTo(expectW[1]!, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.5 - 0.01, 6);
    expect(opt.stepCounts()).toEqual({ w: 1, b: 1 });
    opt.dispose();
    tf.dispose([w, b, ...g]);
  });

  it('clips by the global norm as torch clip_grad_norm_', () => {
    const g = [tf.tensor1d([3, 0]), tf.tensor1d([4])];
    const { grads, norm } = clipByGlobalNorm(g, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(grads[0]!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    const loose = clipByGlobalNorm(g, 10);
    expect(loose.grads[1]!.dataSync()[0]).toBe(4);
    tf.dispose([...g, ...grads, norm, ...loose.grads, loose.norm]);
  });

  it('metrics agree with scikit-learn examples', () => {
    expect(macroF1([0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2])).toBeCloseTo(0.26666666, 6);
    expect(matthewsCorrelation([1, 0, 1, 1], [1, 1, 1, 0])).toBeCloseTo(-1 / 3, 6);
    expect(matthewsCorrelation([0, 0], [0, 0])).toBe(0);
    expect(accuracy([1, 2, 3], [1, 0, 3])).toBeCloseTo(2 / 3, 10);
  });

  it('exempts biases and LayerNorm parameters from weight decay', () => {
    expect(decays(['encoder.layer.0.attention.output.dense.weight'])).toBe(true);
    expect(decays(['encoder.layer.0.attention.output.LayerNorm.weight'])).toBe(false);
    expect(decays(['h.0.ln_1.weight'])).toBe(false);
    expect(decays(['ln_f.weight'])).toBe(false);
    expect(decays(['encoder.layer.0.output.adapters.a.adapter_down.0.weight', 'encoder.layer.0.output.adapters.a.adapter_norm_before.weight'])).toBe(false);
    expect(decays(['encoder.layer.0.output.adapters.a.adapter_up.bias'])).toBe(false);
    const model = tinyModel();
    const head = addMaskedLmHead(model, 'mlm');
    expect(head.isNoDecay('heads.mlm.2.weight')).toBe(true);
    expect(head.isNoDecay('heads.mlm.0.weight')).toBe(false);
    dispose(model);
  });
});

describe('train()', () => {
  it('fits a small task, training only the adapter and the head', async () => {
    const model = setup();
    const base = new Map([...model.host.parameters].map(([k, v]) => [k, v.dataSync().slice()]));
    const events: TrainEvent[] = [];
    const data = classificationData(32);
    const result = await train(model, {
      adapter: 'task',
      trainData: data,
      evalData: data,
      batchSize: 8,
      epochs: 15,
      lr: 2e-2,
      dropout: false,
      warmupSteps: 4,
      weightDecay: 0.01,
      onProgress: (e) => events.push(e),
    });
    const evals = result.history.map((h) => h.metrics);
    expect(result.step).toBe(60);
    expect(evals).toHaveLength(15);
    expect(Object.keys(evals[0]!)).toEqual(['loss', 'accuracy', 'f1', 'mcc']);
    expect(evals[evals.length - 1]!['loss']).toBeLessThan(evals[0]!['loss']! * 0.8);
    expect(evals[evals.length - 1]!['accuracy']).toBeGreaterThanOrEqual(0.8);
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    expect(steps[0]!.lr).toBe(0);
    expect(steps.every((s) => Number.isFinite(s.loss) && s.gradNorm > 0 && s.tokensPerSecond > 0)).toBe(true);
    for (const [k, v] of model.host.parameters) expect(v.dataSync()).toEqual(base.get(k));

    // evaluate() scores held-out data exactly as the trainer's last evaluation did, batch size aside
    const before = tf.memory().numTensors;
    const scored = await evaluate(model, data, { head: 'task', batchSize: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(scored)).toEqual(['loss', 'accuracy', 'f1', 'mcc']);
    for (const k of ['accuracy', 'f1', 'mcc']) expect(scored[k], k).toBe(evals[evals.length - 1]![k]);
    expect(scored['loss']).toBeCloseTo(evals[evals.length - 1]!['loss']!, 5);
    expect(await evaluate(model, data.slice(0, 4), { metrics: ['accuracy'] })).toEqual({ accuracy: expect.any(Number) });
    await expect(evaluate(model, [])).rejects.toThrow(/at least one example/);
    await expect(evaluate(model, data, { head: 'nope' })).rejects.toThrow(/nope/);
    dispose(model);
  });

  it('keeps tf.memory().numTensors flat across 200 steps (and returns to the start)', async () => {
    const model = setup();
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    await train(model, {
      adapter: 'task',
      trainData: classificationData(8),
      batchSize: 4,
      maxSteps: 200,
      gradientAccumulationSteps: 1,
      onProgress: (e) => {
        if (e.type === 'step') counts.push(tf.memory().numTensors);
      },
    });
    expect(counts).toHaveLength(200);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(start);
    dispose(model);
  });

  it('gradient accumulation of 2×2 equals one batch of 4 (no dropout, fixed order)', async () => {
    const data = classificationData(8);
    const common: Omit<TrainOptions, 'trainData'> = { adapter: 'task', shuffle: false, dropout: false, maxSteps: 3, lr: 1e-2, maxGradNorm: 0.5 };
    const a = setup();
    await train(a, { ...common, trainData: data, batchSize: 4 });
    const b = setup();
    await train(b, { ...common, trainData: data, batchSize: 2, gradientAccumulationSteps: 2 });
    const wa = weights(a);
    const wb = weights(b);
    for (const [k, v] of wa) {
      const u = wb.get(k)!;
      const d = Math.max(...v.map((x, i) => Math.abs(x - u[i]!)));
      expect(d, k).toBeLessThan(1e-5);
    }
    dispose(a);
    dispose(b);
  });

  it('resumes from a mid-run checkpoint bit-identically (fresh model objects, dropout and shuffling on)', async () => {
    const dir = join(tmp, 'resume');
    const opts: TrainOptions = {
      adapter: 'task',
      trainData: classificationData(20),
      evalData: classificationData(6, 1),
      batchSize: 4,
      gradientAccumulationSteps: 2,
      maxSteps: 12,
      evalEvery: 4,
      lr: 3e-3,
      warmupSteps: 2,
      weightDecay: 0.05,
      schedule: 'cosine',
      keepBest: true,
      seed: 7,
    };
    const full = setup();
    const rFull = await train(full, { ...opts, checkpointDir: dir, checkpointEvery: 5 });
    const expected = weights(full);
    dispose(full);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint-10', 'checkpoint-5']);
    const ck = join(dir, 'checkpoint-5');
    for (const f of ['trainer_state.json', 'params.safetensors', 'optimizer.safetensors', 'best.safetensors']) expect(existsSync(join(ck, f)), f).toBe(true);
    for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json', 'model_head.safetensors']) expect(existsSync(join(ck, 'task', f)), f).toBe(true);

    const resumed = setup(); // new host, adapter and head objects
    const rRes = await train(resumed, { ...opts, resumeFrom: ck });
    const got = weights(resumed);
    expect([...got.keys()]).toEqual([...expected.keys()]);
    for (const [k, v] of expected) expect(got.get(k), k).toEqual(v);
    expect(rRes.history).toEqual(rFull.history);
    expect(rRes.best).toEqual(rFull.best);
    dispose(resumed);
  });

  it('removes the temporary folders of checkpoint writes whose process died, keeps those of live ones', async () => {
    const dir = join(tmp, 'abandoned');
    const dead = '.checkpoint-4.tmp-999999999-0badc0de'; // no such pid
    const live = `.checkpoint-4.tmp-${process.pid}-00c0ffee`;
    for (const d of [dead, live]) mkdirSync(join(dir, d, 'task'), { recursive: true });
    const model = setup();
    await train(model, { adapter: 'task', trainData: classificationData(4), batchSize: 4, maxSteps: 1, checkpointDir: dir, checkpointEvery: 1 });
    expect(readdirSync(dir).sort()).toEqual([live, 'checkpoint-1']);
    dispose(model);
  });

  it('keepCheckpoints prunes only the checkpoints this run wrote, never an older run\'s', async () => {
    const dir = join(tmp, 'foreign');
    mkdirSync(join(dir, 'checkpoint-99'), { recursive: true }); // another run's, with a higher step
    const model = setup();
    await train(model, { adapter: 'task', trainData: classificationData(8), batchSize: 4, maxSteps: 4, checkpointDir: dir, checkpointEvery: 1, keepCheckpoints: 1 });
    expect(readdirSync(dir).sort()).toEqual(['checkpoint-4', 'checkpoint-99']);
    dispose(model);
  });

  it('an aborted signal stops after the current step, writes a checkpoint and says where', async () => {
    const dir = join(tmp, 'interrupted');
    const controller = new AbortController();
    const model = setup();
    const run = train(model, {
      adapter: 'task',
      trainData: classificationData(8),
      batchSize: 4,
      maxSteps: 10,
      checkpointDir: dir,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'step' && e.step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingInterruptedError);
    await expect(run).rejects.toMatchObject({ code: 'TRAINING_INTERRUPTED', step: 3, totalSteps: 10, checkpoint: join(dir, 'checkpoint-3') });
    expect(readdirSync(dir)).toEqual(['checkpoint-3']);
    dispose(model);

    const resumed = setup();
    const r = await train(resumed, { adapter: 'task', trainData: classificationData(8), batchSize: 4, maxSteps: 10, checkpointDir: dir, resumeFrom: 'latest' });
    expect(r.step).toBe(10);
    dispose(resumed);
  });

  it('refuses a checkpoint whose parameters differ from the trainable ones', async () => {
    const dir = join(tmp, 'mismatch');
    const a = setup();
    await train(a, { adapter: 'task', trainData: classificationData(4), batchSize: 4, maxSteps: 1, checkpointDir: dir, checkpointEvery: 1 });
    dispose(a);
    const b = tinyModel();
    b.addAdapter('other', 'pfeiffer');
    addClassificationHead(b, 'task');
    await expect(train(b, { adapter: 'other', trainData: classificationData(4), maxSteps: 2, checkpointDir: dir, resumeFrom: 'latest' })).rejects.toMatchObject({
      code: 'CHECKPOINT_MISMATCH',
    });
    dispose(b);
  });

  it('stops early after `patience` evaluations without improvement and keeps the best weights', async () => {
    const model = setup();
    const stopped = await train(model, { adapter: 'task', trainData: classificationData(8), evalData: classificationData(4), batchSize: 8, lr: 0, evalEvery: 1, maxSteps: 20, earlyStopping: { patience: 2 } });
    expect(stopped.stoppedEarly).toBe(true);
    expect(stopped.step).toBe(3);
    dispose(model);

    const m2 = setup();
    const snaps = new Map<number, Map<string, Float32Array>>();
    const r = await train(m2, {
      adapter: 'task',
      trainData: classificationData(16),
      evalData: classificationData(8, 2),
      batchSize: 4,
      lr: 3e-2,
      evalEvery: 2,
      maxSteps: 16,
      keepBest: { metric: 'accuracy' },
      onProgress: (e) => {
        if (e.type === 'eval') snaps.set(e.step, weights(m2));
      },
    });
    const best = r.history.reduce((b, h) => (h.metrics['accuracy']! > b.metrics['accuracy']! ? h : b));
    expect(r.best?.step).toBe(best.step);
    const now = weights(m2);
    for (const [k, v] of snaps.get(best.step)!) expect(now.get(k), k).toEqual(v);
    dispose(m2);
  });

  it("mode 'full' trains every base parameter (embeddings included) and the head", async () => {
    const model = tinyModel(3);
    addClassificationHead(model, 'cls', { numLabels: 2 });
    const before = weights(model);
    await train(model, { mode: 'full', trainData: classificationData(8), batchSize: 4, maxSteps: 2, lr: 1e-3 });
    const after = weights(model);
    expect([...after.keys()].filter((k) => k.startsWith('base.')).length).toBe(model.host.parameters.size);
    const changed = [...after].filter(([k, v]) => v.some((x, i) => x !== before.get(k)![i]));
    expect(changed.map(([k]) => k)).toContain('base.embeddings.word_embeddings.weight');
    expect(changed.map(([k]) => k)).toContain('heads.cls.4.weight');
    dispose(model);
  });

  it("mode 'heads' trains the heads alone (base, adapters and parameter groups frozen)", async () => {
    const model = tinyModel(3);
    model.addAdapter('a', 'pfeiffer');
    addClassificationHead(model, 'cls', { numLabels: 2 });
    const all = (): Map<string, Float32Array> => {
      const vars: [string, tf.Variable][] = [
        ...[...model.host.parameters].map(([k, v]): [string, tf.Variable] => [`base.${k}`, v]),
        ...model.adapterParams('a').map((p): [string, tf.Variable] => [`adapter.${p.key}`, p.variable]),
        ...getHeads(model).require('cls').list().map((p): [string, tf.Variable] => [p.key, p.variable]),
      ];
      return new Map(vars.map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]));
    };
    // a parameter group left trainable by an earlier setup (e.g. trainAdapterFusion) is frozen too
    model.addParamGroup('fusion:a', new ParamCollector('fusion:a'));
    model.paramGroup('fusion:a')!.add('value', tf.ones([2, 2])).trainable = true;
    const before = all();
    await train(model, { mode: 'heads', trainData: classificationData(8), batchSize: 4, maxSteps: 2, lr: 1e-3 });
    const changed = [...all()].filter(([k, v]) => v.some((x, i) => x !== before.get(k)![i])).map(([k]) => k);
    expect(changed).toContain('heads.cls.4.weight');
    expect(changed.filter((k) => !k.startsWith('heads.cls.'))).toEqual([]);
    expect(model.trainableVariables()).toEqual([]);
    dispose(model);
  });

  it('trains an MLM head with a perplexity metric, and a custom loss function', async () => {
    const model = tinyModel(1);
    model.addAdapter('lm', 'pfeiffer');
    addMaskedLmHead(model, 'lm');
    const data: Example[] = classificationData(8).map((e) => ({ inputIds: e.inputIds, labels: e.inputIds.map((t, j) => (j % 2 === 1 ? t : -100)) }));
    const r = await train(model, { adapter: 'lm', trainData: data, evalData: data, batchSize: 4, epochs: 2, lr: 1e-2 });
    expect(Object.keys(r.history[0]!.metrics)).toEqual(['loss', 'perplexity']);
    expect(r.history[1]!.metrics['perplexity']).toBeCloseTo(Math.exp(r.history[1]!.metrics['loss']!), 4);
    expect(r.history[1]!.metrics['perplexity']!).toBeLessThan(r.history[0]!.metrics['perplexity']!);

    const custom = await train(model, {
      adapter: 'lm',
      trainData: classificationData(4),
      maxSteps: 2,
      lossFn: (m, batch) => tf.mean(tf.square(m.forward(batch.inputs).lastHiddenState)) as tf.Scalar,
    });
    expect(Number.isFinite(custom.lastLoss)).toBe(true);
    dispose(model);
  });
});

/** Two choices per example; the right one is the choice whose first token is below 25. */
function choiceData(n: number): ChoiceExample[] {
  return Array.from({ length: n }, (_, i) => {
    const low = 3 + ((i * 7) % 22);
    const high = 25 + ((i * 5) % 25);
    const right = i % 2;
    const seq = (first: number): { inputIds: number[] } => ({ inputIds: [first, ...Array.from({ length: 3 + (i % 3) }, (_, j) => 3 + ((i * 3 + j * 11) % 45))] });
    const choices = right === 0 ? [seq(low), seq(high)] : [seq(high), seq(low)];
    return { choices, labels: right };
  });
}

describe('multiple choice', () => {
  it('collates choices into consecutive rows and checks the labels', () => {
    const batch = collate(choiceData(3), 0, 'choice');
    expect(batch.inputs.inputIds.shape).toEqual([6, 6]);
    expect(batch.labels!.dataSync()).toEqual(new Int32Array([0, 1, 0]));
    expect(batch.weight).toBe(3);
    tf.dispose([batch.inputs.inputIds, batch.inputs.attentionMask!, batch.labels!]);
    expect(() => collate([{ choices: [{ inputIds: [5] }], labels: 1 }], 0, 'choice')).toThrow(/label 1 is not the index of one of its 1 choices/);
    expect(() => collate([...choiceData(1), { choices: [{ inputIds: [5] }], labels: 0 }], 0, 'choice')).toThrow(/example 1 has 1 choices, example 0 has 2/);
    expect(() => collate(choiceData(1), 0, 'class')).toThrow(/multiple-choice example/);
  });

  it('one training step lowers the loss of a toy problem; train() reports loss and accuracy', async () => {
    const model = tinyModel(3);
    model.addAdapter('mc', 'pfeiffer[reduction_factor=2]', { seed: 5 });
    addMultipleChoiceHead(model, 'mc', { numChoices: 2, seed: 6 });
    const data = choiceData(8);
    const lossNow = (): number =>
      tf.tidy(() => {
        const batch = collate(data, 0, 'choice');
        return forwardWithHeads(model, batch.inputs, { labels: batch.labels! }).loss!.dataSync()[0]!;
      });
    model.setActiveAdapters('mc');
    const before = lossNow();
    const one = await train(model, { adapter: 'mc', trainData: data, batchSize: 8, maxSteps: 1, lr: 1e-2, dropout: false });
    expect(one.lastLoss).toBeCloseTo(before, 5);
    expect(lossNow()).toBeLessThan(before);
    const r = await train(model, { adapter: 'mc', trainData: data, evalData: data, batchSize: 4, epochs: 1, lr: 1e-2, dropout: false });
    expect(Object.keys(r.history[0]!.metrics)).toEqual(['loss', 'accuracy']);
    dispose(model);
  });
});
