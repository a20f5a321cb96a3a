import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/backends';
import { Rng, type AdapterModel } from '@adapterkit/core';
import { batchLoss, collate, collectTrainable, resolveScoring, train, type Example, type TrainEvent } from '@adapterkit/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataParallelError, DataParallelPool, shardRanges, trainDataParallel, weightedMean } from './index';
import { createReplica, TEST_REPLICA, type TestReplicaOptions } from './test-replica';

beforeAll(async () => {
  await initBackend('cpu');
});

/** `n` examples of lengths 4..12 (token ids of the golden vocab), class labels 0..2 or per-token tags 0..3 with some −100. */
function examples(n: number, head: 'class' | 'tag', seed = 1): Example[] {
  const rng = new Rng(seed);
  const int = (k: number): number => Math.floor(rng.next() * k);
  return Array.from({ length: n }, () => {
    const len = 4 + int(9);
    const inputIds = Array.from({ length: len }, () => 3 + int(509));
    const labels = head === 'class' ? int(3) : inputIds.map(() => (rng.next() < 0.3 ? -100 : int(4)));
    return { inputIds, labels };
  });
}

/** The single-process gradient of the whole batch's mean loss (no dropout), by trainable key. */
function fullBatchGrads(model: AdapterModel, data: readonly Example[]): { loss: number; grads: Map<string, Float32Array> } {
  const params = collectTrainable(model);
  let out: { loss: number; grads: Map<string, Float32Array> } | undefined;
  tf.tidy(() => {
    const scoring = resolveScoring(model, {}, data[0], 'test');
    const batch = collate(data, scoring.padTokenId, scoring.labelKind);
    const { value, grads } = tf.variableGrads(() => batchLoss(model, scoring, batch, false), params.map((p) => p.variable));
    out = { loss: value.dataSync()[0]!, grads: new Map(params.map((p) => [p.key, grads[p.variable.name]!.dataSync() as Float32Array])) };
  });
  return out!;
}

/** Largest |a − b| − 1e-4·|b| over two arrays (≤ atol means within atol + 1e-4·|b| everywhere). */
function excess(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) - 1e-4 * Math.abs(b[i]!));
  return worst;
}

describe('shards', () => {
  it('splits a batch into contiguous shards whose sizes differ by at most one, never empty', () => {
    expect(shardRanges(5, 2)).toEqual([
      [0, 3],
      [3, 5],
    ]);
    expect(shardRanges(7, 3)).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
    ]);
    expect(shardRanges(1, 4)).toEqual([[0, 1]]);
  });

  it('weights shard means by their label items (the unweighted mean of means is not the batch mean)', () => {
    // shard A: 3 items of mean 1; shard B: 1 item of mean 5 → batch mean (3·1 + 5) / 4 = 2, not (1 + 5) / 2 = 3
    const out = weightedMean(
      [
        [[1, 10], 3],
        [[5, 20], 1],
      ],
      new Float32Array(2),
    );
    expect(Array.from(out)).toEqual([2, 12.5]);
    expect(Array.from(weightedMean([[[4], 0]], new Float32Array(1)))).toEqual([0]);
    expect(() => weightedMean([[[1, 2, 3], 1]], new Float32Array(2))).toThrow(RangeError);
  });
});

describe('DataParallelPool on the golden tiny BERT (dropout off)', () => {
  const pools: DataParallelPool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  const check = async (head: TestReplicaOptions['head'], n: number, workers: number, backend: string): Promise<void> => {
    const replica: TestReplicaOptions = { head };
    const model = await createReplica(replica);
    const pool = await DataParallelPool.start(model, { workers, backend, adapter: 'task', replica: { module: TEST_REPLICA, options: replica } });
    pools.push(pool);
    expect(pool.backends).toHaveLength(workers);
    for (const b of pool.backends) expect(b.startsWith(backend)).toBe(true);
    const data = examples(n, head);
    const before = tf.memory().numTensors;
    const got = await pool.gradients(data, { training: false });
    const want = fullBatchGrads(model, data);
    expect(got.shardSizes).toEqual(shardRanges(n, workers).map(([s, e]) => e - s));
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
    expect(got.grads.every((g) => g !== undefined)).toBe(true);
    pool.params.forEach((p, i) => {
      expect(excess(got.grads[i]!.dataSync(), want.grads.get(p.key)!), p.key).toBeLessThan(1e-6);
    });
    tf.dispose(got.grads as tf.Tensor[]);
    expect(tf.memory().numTensors).toBe(before);
    await pool.close();
    model.dispose();
  };

  it('equals the single-process gradient of the whole batch for uneven shards (5 examples on 2 workers, cpu)', async () => {
    await check('class', 5, 2, 'cpu');
  });

  it('weights token-level losses by labelled tokens (tagging head, −100 labels, uneven lengths; 3 workers, wasm)', async () => {
    await check('tag', 7, 3, 'wasm');
  });

  it('one data-parallel training run equals train() on the whole batch, step by step', async () => {
    const replica: TestReplicaOptions = { head: 'class' };
    const data = examples(12, 'class', 3);
    const opts = { adapter: 'task', trainData: data, batchSize: 6, maxSteps: 3, lr: 1e-2, maxGradNorm: 0.5, weightDecay: 0.01, dropout: false, seed: 5 } as const;
    const single = await createReplica(replica);
    const singleLoss: number[] = [];
    await train(single, { ...opts, onProgress: (e: TrainEvent) => e.type === 'step' && singleLoss.push(e.loss) });
    const parallel = await createReplica(replica);
    const before = tf.memory().numTensors;
    const parallelLoss: number[] = [];
    const r = await trainDataParallel(parallel, { ...opts, workers: 2, backend: 'cpu', replica: { module: TEST_REPLICA, options: replica }, onProgress: (e) => e.type === 'step' && parallelLoss.push(e.loss) });
    expect(r.step).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    expect(parallelLoss).toHaveLength(3);
    parallelLoss.forEach((l, i) => expect(Math.abs(l - singleLoss[i]!)).toBeLessThan(1e-5));
    const a = collectTrainable(single);
    const b = collectTrainable(parallel);
    expect(b.map((p) => p.key)).toEqual(a.map((p) => p.key));
    const fresh = await createReplica(replica);
    fresh.trainAdapter('task');
    const initial = collectTrainable(fresh);
    let moved = 0;
    a.forEach((p, i) => {
      expect(excess(b[i]!.variable.dataSync(), p.variable.dataSync()), p.key).toBeLessThan(1e-5);
      moved = Math.max(moved, excess(p.variable.dataSync(), initial[i]!.variable.dataSync()));
    });
    // the steps changed the weights (so the comparison above compares trained values)
    expect(moved).toBeGreaterThan(1e-4);
    fresh.dispose();
    single.dispose();
    parallel.dispose();
  });
});

describe('trainDataParallel is train() with the pool as gradientSource', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'data-parallel-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const replica: TestReplicaOptions = { head: 'class' };
  const spec = { workers: 2, backend: 'cpu', replica: { module: TEST_REPLICA, options: replica } } as const;

  it('accumulates micro-batches through the pool as train() does (dropout off, uneven last step)', async () => {
    // 14 examples, batch 4, accumulation 2: micro-batches 4,4 | 4,2 per epoch
    const opts = { adapter: 'task', trainData: examples(14, 'class', 4), batchSize: 4, gradientAccumulationSteps: 2, epochs: 2, lr: 1e-2, dropout: false, seed: 2 } as const;
    const single = await createReplica(replica);
    const singleLoss: number[] = [];
    await train(single, { ...opts, onProgress: (e) => e.type === 'step' && singleLoss.push(e.loss) });
    const parallel = await createReplica(replica);
    const before = tf.memory().numTensors;
    const loss: number[] = [];
    const r = await trainDataParallel(parallel, { ...opts, ...spec, onProgress: (e) => e.type === 'step' && loss.push(e.loss) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.step).toBe(4);
    expect(r.backends).toHaveLength(2);
    expect(loss).toHaveLength(4);
    loss.forEach((l, i) => expect(Math.abs(l - singleLoss[i]!)).toBeLessThan(1e-5));
    const a = collectTrainable(single);
    const b = collectTrainable(parallel);
    a.forEach((p, i) => expect(excess(b[i]!.variable.dataSync(), p.variable.dataSync()), p.key).toBeLessThan(1e-5));
    single.dispose();
    parallel.dispose();
  });

  it('evaluates during training, writes checkpoints, and a resumed run ends with the weights of an uninterrupted one (dropout on)', async () => {
    const dir = join(tmp, 'ck');
    const opts = { adapter: 'task', trainData: examples(16, 'class', 5), evalData: examples(6, 'class', 6), evalEvery: 2, batchSize: 4, maxSteps: 6, lr: 3e-3, seed: 11, ...spec } as const;
    const run = async (extra: object): Promise<{ w: Float32Array[]; events: TrainEvent[]; history: unknown }> => {
      const model = await createReplica(replica);
      const events: TrainEvent[] = [];
      const r = await trainDataParallel(model, { ...opts, ...extra, onProgress: (e) => events.push(e) });
      const w = collectTrainable(model).map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
      model.dispose();
      return { w, events, history: r.history };
    };
    const full = await run({ checkpointDir: dir, checkpointEvery: 3 });
    const evals = full.events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([2, 4, 6]);
    for (const e of evals) expect(Object.keys(e.metrics)).toEqual(expect.arrayContaining(['loss', 'accuracy']));
    expect(full.events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([3, 6]);
    const resumed = await run({ resumeFrom: join(dir, 'checkpoint-3') });
    expect(resumed.events.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step)).toEqual([4, 5, 6]);
    expect(resumed.history).toEqual(full.history);
    full.w.forEach((w, i) => expect(resumed.w[i]).toEqual(w));
  });

  it('stops on the signal after the current step with a checkpoint, and closes the pool', async () => {
    const model = await createReplica(replica);
    const stop = new AbortController();
    const err = await trainDataParallel(model, {
      ...spec,
      adapter: 'task',
      trainData: examples(16, 'class', 7),
      batchSize: 4,
      maxSteps: 8,
      checkpointDir: join(tmp, 'stop'),
      signal: stop.signal,
      onProgress: (e) => e.type === 'step' && e.step === 2 && stop.abort(),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TRAINING_INTERRUPTED', step: 2, checkpoint: join(tmp, 'stop', 'checkpoint-2') });
    model.dispose();
  });
});

describe('errors', () => {
  const start = async (over: Record<string, unknown>, replica: TestReplicaOptions = { head: 'class' }, mode?: 'heads'): Promise<unknown> => {
    const model = await createReplica({ head: 'class' });
    try {
      const pool = await DataParallelPool.start(model, { workers: 2, backend: 'cpu', adapter: 'task', replica: { module: TEST_REPLICA, options: replica }, ...(mode ? { mode } : {}), ...over });
      await pool.close();
      return undefined;
    } catch (err) {
      return err;
    } finally {
      model.dispose();
    }
  };
  const codeOf = (err: unknown): string | undefined => (err instanceof DataParallelError ? err.code : `not a DataParallelError: ${String(err)}`);

  it('rejects bad options before starting a worker', async () => {
    expect(codeOf(await start({ workers: 0 }))).toBe('BAD_OPTIONS');
    expect(codeOf(await start({ threadsPerWorker: 1.5 }))).toBe('BAD_OPTIONS');
    const tpu = await start({ backend: 'tpu' });
    expect(codeOf(tpu)).toBe('BAD_OPTIONS');
    expect((tpu as Error).message).toContain("'tpu'");
    expect(codeOf(await start({ adapter: undefined }))).toBe('BAD_OPTIONS');
    const model = await createReplica({ head: 'class' });
    await expect(trainDataParallel(model, { workers: 2, adapter: 'task', replica: { module: TEST_REPLICA }, trainData: [] })).rejects.toThrow(/trainData is empty/);
    const lossFn = { lossFn: () => tf.scalar(0) } as object;
    await expect(trainDataParallel(model, { workers: 2, adapter: 'task', replica: { module: TEST_REPLICA }, trainData: examples(2, 'class'), ...lossFn })).rejects.toThrow(/lossFn/);
    model.dispose();
  });

  it('names the first parameter where a replica differs (trainable shape; frozen values)', async () => {
    const shape = await start({}, { head: 'class', config: 'pfeiffer[reduction_factor=4]' });
    expect(codeOf(shape)).toBe('REPLICA_MISMATCH');
    expect((shape as Error).message).toMatch(/worker 0: .*shape \[/);
    // heads mode: the adapter is frozen, so a replica with other adapter values differs in a frozen variable
    const frozen = await start({}, { head: 'class', seed: 8 }, 'heads');
    expect(codeOf(frozen)).toBe('REPLICA_MISMATCH');
    expect((frozen as Error).message).toContain('frozen variable adapter.task.');
  });

  it('reports a worker that cannot start, with the worker and its error code', async () => {
    const err = await start({ backend: 'webgl' });
    expect(codeOf(err)).toBe('WORKER_FAILED');
    expect((err as Error).message).toMatch(/worker \d: BACKEND_UNAVAILABLE: .*WebGL/);
    const missing = await start({ replica: { module: TEST_REPLICA, export: 'nope', options: { head: 'class' } } });
    expect(codeOf(missing)).toBe('REPLICA_MISMATCH');
    expect((missing as Error).message).toContain("no function export 'nope'");
  });
});
