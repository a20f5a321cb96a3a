/**
 * `pnpm bench --data-parallel`: the adapter training step with 1 process × N threads vs N data-parallel workers ×
 * 1 thread each, on wasm and on native (`@adapterkit/data-parallel`), same model, data and steps. This module holds the replica factory the
 * workers import and the data-parallel phase; `scripts/bench.ts` runs the phases in processes of their own and prints
 * the comparison.
 */
import { fileURLToPath } from 'node:url';
import { initBackend, describeBackend } from '@adapterkit/backends';
import { AdapterModel } from '@adapterkit/core';
import { trainDataParallel } from '@adapterkit/data-parallel';
import { initHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { addClassificationHead, type Example } from '@adapterkit/training';

/** The bench model (host seed 1, head `cls` seed 2, Pfeiffer adapter `task` seed 3), in a worker or in the main thread. */
export function createReplica(o: { config: Record<string, unknown> }): AdapterModel {
  const model = new AdapterModel(initHost(o.config, 1), { methods: [...bottleneck], warn: () => undefined });
  addClassificationHead(model, 'cls', { numLabels: 2, seed: 2 });
  model.addAdapter('task', 'pfeiffer', { seed: 3 });
  return model;
}

/** What the data-parallel phase reports. */
export interface DataParallelPhaseResult {
  /** Median step time (ms) after warm-up, main-thread wall time: shard gradients + combine + AdamW + copy. */
  readonly stepMs: number;
  /** Every worker's backend. */
  readonly backends: readonly string[];
  /** The main thread's backend (AdamW on the trainable values only). */
  readonly main: string;
}

/** Train `warmup + steps` adapter steps with `workers` workers of 1 thread of `backend`; the median of the timed steps. */
export async function dataParallelPhase(o: {
  backend: string;
  config: Record<string, unknown>;
  trainData: readonly Example[];
  batchSize: number;
  warmup: number;
  steps: number;
  workers: number;
}): Promise<DataParallelPhaseResult> {
  const main = await initBackend(o.backend, { threads: 1 });
  const model = createReplica({ config: o.config });
  const times: number[] = [];
  const r = await trainDataParallel(model, {
    workers: o.workers,
    threadsPerWorker: 1,
    backend: o.backend,
    replica: { module: fileURLToPath(import.meta.url), options: { config: o.config } },
    adapter: 'task',
    head: 'cls',
    trainData: o.trainData,
    batchSize: o.batchSize,
    maxSteps: o.warmup + o.steps,
    shuffle: false,
    lr: 1e-4,
    onProgress: (e) => {
      if (e.type === 'step' && e.step > o.warmup) times.push(e.stepMs);
    },
  });
  model.dispose();
  const s = [...times].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { stepMs: median, backends: r.backends, main: describeBackend(main) };
}
