import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AFTER_BATCH_WAIT, Batcher } from './batcher';
import { Mutex } from './lock';
import { ServeMetrics } from './metrics';
import { AdapterPool } from './pool';
import { adaptersFolder, bertModel, ids } from './test-support';

// The batcher's timing rule under a fake clock (setTimeout and performance.now), so that which requests share a
// forward is decided by the rule, not by how fast this machine runs: nothing here measures time.

const WINDOW = 10;
/** Fake compute time of every batch (the clock is advanced inside the forward). */
const COMPUTE = 200;

let model: AdapterModel;
let dir: string;

beforeAll(async () => {
  model = await bertModel();
  dir = adaptersFolder();
});
afterAll(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(maxBatch: number): { batcher: Batcher; batches: number[]; pool: AdapterPool } {
  const metrics = new ServeMetrics();
  const batches: number[] = [];
  // each forward "takes" COMPUTE ms of the fake clock, which the batcher measures as the batch's compute time
  metrics.batchRows.observe = (n: number) => {
    batches.push(n);
    vi.advanceTimersByTime(COMPUTE);
  };
  const pool = new AdapterPool(model, dir, 4, metrics);
  const batcher = new Batcher(model, pool, new Mutex(), metrics, { maxBatch, batchWindowMs: WINDOW });
  return { batcher, batches, pool };
}

const row = (seed: number) => [{ setup: 'lora', inputIds: ids(5, seed) }] as const;

/** Let pending promise callbacks and the batcher's setImmediate run (real), without moving the fake clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('Batcher timing rule', () => {
  it('starts a lone request after one window, and keeps waiting while requests keep arriving, up to its share of the last compute time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { batcher, batches, pool } = setup(64);
    const before = tf.memory().numTensors;
    const first = batcher.submit('lora', row(0));
    vi.advanceTimersByTime(WINDOW - 1);
    await settle();
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1); // a quiet window: the lone request starts
    await first;
    expect(batches).toEqual([1]);

    // after a batch of COMPUTE ms, arrivals every WINDOW/2 extend the wait window by window
    const jobs = [batcher.submit('lora', row(1))];
    for (let k = 2; k <= 4; k++) {
      vi.advanceTimersByTime(WINDOW / 2);
      await settle();
      jobs.push(batcher.submit('lora', row(k)));
    }
    expect(batches).toEqual([1]); // 15 ms in, more than one window: still waiting, as rows kept arriving
    vi.advanceTimersByTime(WINDOW * 2); // then quiet: the four start together
    await Promise.all(jobs);
    expect(batches).toEqual([1, 4]);

    // a steady trickle is cut at AFTER_BATCH_WAIT of the last compute time
    const cap = AFTER_BATCH_WAIT * COMPUTE;
    const trickle = [batcher.submit('lora', row(10))];
    let waited = 0;
    while (batches.length === 2 && waited < 4 * cap) {
      vi.advanceTimersByTime(WINDOW / 2);
      waited += WINDOW / 2;
      await settle();
      if (batches.length === 2) trickle.push(batcher.submit('lora', row(10 + trickle.length)));
    }
    // it started by the cap (not later), with every row that had arrived, however many more were still coming
    expect(waited).toBeLessThanOrEqual(cap + WINDOW);
    expect(waited).toBeGreaterThanOrEqual(cap - WINDOW);
    expect(batches[2]).toBeGreaterThan(2);
    await batcher.idle();
    await Promise.all(trickle);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(1 + 4 + trickle.length);
    pool.clear();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('starts at once when maxBatch rows wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { batcher, batches, pool } = setup(8);
    const jobs = Array.from({ length: 8 }, (_, k) => batcher.submit('lora', row(k)));
    await Promise.all(jobs); // no timer advanced: the eighth row started the batch
    expect(batches).toEqual([8]);
    pool.clear();
  });
});
