/**
 * The soak runs behind `pnpm soak` (`scripts/soak.ts`) and `scripts/soak/soak.test.ts`: repeat the operations a
 * long-lived process repeats and record `tf.memory().numTensors` and the process RSS along the way.
 *
 * - `train`: `train()` steps (a Pfeiffer adapter and a classification head on a small random BERT, AdamW, dropout);
 * - `addDelete`: `addAdapter` + `deleteAdapter` of a Pfeiffer adapter, with one forward while it exists;
 * - `loadDelete`: `loadAdapter` (adapter + head through `headCompanion`) + `deleteAdapter` + head delete of a
 *   saved adapter.
 *
 * A phase is flat when `numTensors` after it equals the count before it (exactly), and during training the count at
 * the last step equals the count at the first (the optimizer state is allocated on step 1). RSS is sampled at
 * fixed fractions of each phase; its growth over the second half, per 1,000 operations, is reported (a leak grows
 * linearly; allocator warm-up does not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { initHost } from '@adapterkit/models';
import { addClassificationHead, getHeads, headCompanion, train, type Example } from '@adapterkit/training';

/** How many operations each phase repeats. */
export interface SoakCounts {
  readonly trainSteps: number;
  readonly addDelete: number;
  readonly loadDelete: number;
}

/** Memory at one point of a phase (after a full GC when the process runs with `--expose-gc`). */
export interface MemorySample {
  /** Operations done when sampled. */
  readonly ops: number;
  /** Process RSS, MiB. */
  readonly rssMiB: number;
  /** V8 heap in use, MiB. */
  readonly heapMiB: number;
}

/** What one phase measured. */
export interface PhaseFigures {
  readonly phase: 'train' | 'addDelete' | 'loadDelete';
  readonly count: number;
  /** `numTensors` before the phase and after it. */
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  /** Training only: `numTensors` at the first and at the last step (inside `train()`, optimizer state included). */
  readonly tensorsFirstStep?: number;
  readonly tensorsLastStep?: number;
  /** Memory at 0, 10, …, 100 % of the phase. */
  readonly samples: readonly MemorySample[];
  /** Least-squares growth over the second half of the phase (samples at 50–100 %), MiB per 1,000 operations. */
  readonly rssSlopeMiBPer1000: number;
  readonly heapSlopeMiBPer1000: number;
  /** Whether the samples were taken after a forced full GC (`--expose-gc`). */
  readonly gcForced: boolean;
  readonly seconds: number;
}

const MiB = 1024 * 1024;

function sample(ops: number): MemorySample {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { ops, rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB };
}

/** Size of the random BERT the soak runs on (2 layers, vocabulary 200). */
export interface SoakModelSize {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
}

/** What `pnpm soak` runs on: hidden 64, intermediate 128. */
export const SOAK_MODEL: SoakModelSize = { hiddenSize: 64, intermediateSize: 128 };

/** A small random BERT with the bottleneck methods. */
function soakModel(size: SoakModelSize): AdapterModel {
  const host = initHost(
    { model_type: 'bert', vocab_size: 200, hidden_size: size.hiddenSize, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: size.intermediateSize, max_position_embeddings: 64 },
    1,
  );
  return new AdapterModel(host, { methods: [...bottleneck], warn: () => undefined });
}

function examples(n: number): Example[] {
  return Array.from({ length: n }, (_, i) => ({
    inputIds: Array.from({ length: 16 }, (_, j) => 3 + ((i * 7 + j * 5) % 190)),
    labels: i % 2,
  }));
}

/** Memory samples at 0, 10, …, 100 % of `count` operations: call `tick(i)` after operation i (1-based). */
function sampler(count: number): { tick(i: number): void; finish(): MemorySample[] } {
  const marks = new Set(Array.from({ length: 10 }, (_, q) => Math.max(1, Math.round(((q + 1) * count) / 10))));
  const samples = [sample(0)];
  return {
    tick(i) {
      if (marks.has(i)) samples.push(sample(i));
    },
    finish() {
      if (samples[samples.length - 1]!.ops !== count) samples.push(sample(count));
      return samples;
    },
  };
}

/** Least-squares slope of `value` over the samples of the second half, per 1,000 operations. */
export function secondHalfSlope(samples: readonly MemorySample[], count: number, value: (s: MemorySample) => number): number {
  const pts = samples.filter((s) => s.ops >= count / 2);
  if (pts.length < 2) return 0;
  const mx = pts.reduce((a, s) => a + s.ops, 0) / pts.length;
  const my = pts.reduce((a, s) => a + value(s), 0) / pts.length;
  const sxx = pts.reduce((a, s) => a + (s.ops - mx) ** 2, 0);
  const sxy = pts.reduce((a, s) => a + (s.ops - mx) * (value(s) - my), 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 1000;
}

function figures(
  phase: PhaseFigures['phase'],
  count: number,
  tensors: { before: number; after: number; firstStep?: number | undefined; lastStep?: number | undefined },
  samples: MemorySample[],
  started: number,
): PhaseFigures {
  return {
    phase,
    count,
    tensorsBefore: tensors.before,
    tensorsAfter: tensors.after,
    ...(tensors.firstStep !== undefined ? { tensorsFirstStep: tensors.firstStep } : {}),
    ...(tensors.lastStep !== undefined ? { tensorsLastStep: tensors.lastStep } : {}),
    samples,
    rssSlopeMiBPer1000: secondHalfSlope(samples, count, (s) => s.rssMiB),
    heapSlopeMiBPer1000: secondHalfSlope(samples, count, (s) => s.heapMiB),
    gcForced: typeof (globalThis as { gc?: unknown }).gc === 'function',
    seconds: (performance.now() - started) / 1000,
  };
}

async function trainPhase(model: AdapterModel, steps: number): Promise<PhaseFigures> {
  const started = performance.now();
  const before = tf.memory().numTensors;
  const mem = sampler(steps);
  let first: number | undefined;
  let last: number | undefined;
  await train(model, {
    adapter: 'soak',
    trainData: examples(64),
    batchSize: 8,
    maxSteps: steps,
    epochs: Math.ceil(steps / 8) + 1,
    lr: 1e-3,
    seed: 3,
    onProgress: (e) => {
      if (e.type !== 'step') return;
      if (e.step === 1) first = tf.memory().numTensors;
      last = tf.memory().numTensors;
      mem.tick(e.step);
    },
  });
  return figures('train', steps, { before, after: tf.memory().numTensors, firstStep: first, lastStep: last }, mem.finish(), started);
}

async function addDeletePhase(model: AdapterModel, cycles: number): Promise<PhaseFigures> {
  const started = performance.now();
  const inputIds = tf.tensor2d([examples(2)[0]!.inputIds as number[], examples(2)[1]!.inputIds as number[]], [2, 16], 'int32');
  const before = tf.memory().numTensors;
  const mem = sampler(cycles);
  for (let i = 1; i <= cycles; i++) {
    model.addAdapter('cycle', 'pfeiffer', { setActive: true });
    const out = model.forward({ inputIds });
    tf.dispose(Object.values(out) as tf.Tensor[]);
    model.deleteAdapter('cycle');
    mem.tick(i);
    if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // let timers and I/O of the host process run
  }
  const after = tf.memory().numTensors;
  inputIds.dispose();
  return figures('addDelete', cycles, { before, after }, mem.finish(), started);
}

async function loadDeletePhase(model: AdapterModel, dir: string, cycles: number): Promise<PhaseFigures> {
  const started = performance.now();
  const before = tf.memory().numTensors;
  const mem = sampler(cycles);
  for (let i = 1; i <= cycles; i++) {
    const name = await model.loadAdapter(dir, { loadAs: 'loaded', companions: [headCompanion] });
    model.deleteAdapter(name);
    getHeads(model).delete(name);
    mem.tick(i);
  }
  return figures('loadDelete', cycles, { before, after: tf.memory().numTensors }, mem.finish(), started);
}

/**
 * Run the three phases on one model (the backend must be set up by the caller) and return their figures. The model
 * and the temporary folder are freed before it returns.
 */
export async function runSoak(counts: SoakCounts, onPhase?: (f: PhaseFigures) => void, size: SoakModelSize = SOAK_MODEL): Promise<PhaseFigures[]> {
  const model = soakModel(size);
  const dir = mkdtempSync(join(tmpdir(), 'adapterkit-soak-'));
  const out: PhaseFigures[] = [];
  const done = (f: PhaseFigures): void => {
    out.push(f);
    onPhase?.(f);
  };
  try {
    model.addAdapter('soak', 'pfeiffer');
    addClassificationHead(model, 'soak', { numLabels: 2 });
    done(await trainPhase(model, counts.trainSteps));
    done(await addDeletePhase(model, counts.addDelete));
    await model.saveAdapter(join(dir, 'soak'), 'soak', { companions: [headCompanion] });
    done(await loadDeletePhase(model, join(dir, 'soak'), counts.loadDelete));
    return out;
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lines per phase, for `pnpm soak`. */
export function formatPhase(f: PhaseFigures): string {
  const steps = f.tensorsFirstStep !== undefined ? `, during: ${f.tensorsFirstStep} at step 1 → ${f.tensorsLastStep} at step ${f.count}` : '';
  const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const pick = (v: (s: MemorySample) => number): string => [0, 5, 10].map((i) => f.samples[Math.min(i, f.samples.length - 1)]!).map((s) => v(s).toFixed(0)).join(' / ');
  return (
    `${f.phase.padEnd(10)} ${String(f.count).padStart(5)} ops  numTensors ${f.tensorsBefore} → ${f.tensorsAfter}${steps}  ${f.seconds.toFixed(1)} s\n` +
    `${''.padEnd(22)}RSS MiB ${pick((s) => s.rssMiB)} (0/50/100 %), second half ${sign(f.rssSlopeMiBPer1000)} MiB per 1000; ` +
    `heap MiB ${pick((s) => s.heapMiB)}, second half ${sign(f.heapSlopeMiBPer1000)} MiB per 1000${f.gcForced ? ' (after a full GC)' : ''}`
  );
}
