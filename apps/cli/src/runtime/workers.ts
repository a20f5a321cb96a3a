/**
 * `adapterkit train --workers N|auto`: whether a run trains in one process (the backend's own threads) or
 * data-parallel (`@adapterkit/data-parallel`: N worker threads × 1 backend thread, each with a replica of the model
 * built by `./replica`), and the note that says so.
 */
import { availableParallelism } from 'node:os';
import type { BackendInfo } from '@adapterkit/backends';
import { CliError } from '../cli/errors';

/** Backends whose workers can start in a worker thread of this process (CPU backends: no device, no native tfjs). */
const WORKER_BACKENDS = ['wasm', 'native', 'cpu'] as const;

/**
 * Whether `auto` trains data-parallel on a backend: N workers × 1 thread against 1 process × N threads, measured with
 * `pnpm bench --data-parallel` (adapter step of the bench model: BERT 4 layers, hidden 256; batch 16 × 128; 2 vCPUs
 * shared with other jobs, load average 4–32 during the runs; each round runs both modes back to back in fresh
 * processes; figures are threads / workers step-time ratios, > 1 = data-parallel faster):
 *
 * - wasm: data-parallel faster in 6 of 7 rounds of two runs on 2026-12-07 (1.10, 1.22, 0.35 | 1.79, 1.16, 1.60,
 *   2.92; median 1.22) and in 9 of 9 of the session before (1.07–7.03, medians 1.21, 1.36, 1.65) → `true`;
 * - native (`@adapterkit/native`: OpenBLAS matMuls on the wasm heap, the default backend where it is installed):
 *   under load (two runs on 2026-12-07 beside two other jobs, load average 2–32) threads were faster in 4 of 7
 *   rounds (0.72, 0.86, 2.46 | 0.63, 1.26, 0.90, 1.81; median 0.90); on the quiet machine (nothing else running,
 *   load average ≤ 3, same day) data-parallel was faster in 5 of 5 rounds (1.44, 1.56, 1.29, 1.35, 1.39; median
 *   1.39), and the main job's own shape (batch 16 × 64, 40 steps of the CLI) took 12.0–12.4 s on 2 workers against
 *   12.6–12.7 s in one process (2 alternating pairs) → `true`: the quiet figures are the ones that describe a
 *   user's machine, and the loaded rounds scattered both ways;
 * - cpu (plain JS kernels, one thread in any case): not measured → `false` (workers would multiply the model's
 *   memory for a backend that only runs where wasm cannot).
 */
export const AUTO_DATA_PARALLEL: Readonly<Record<string, boolean>> = { wasm: true, native: true, cpu: false };

/** Fewest examples per worker for `auto` to split a batch: smaller shards spend their time in per-step overhead. */
export const MIN_EXAMPLES_PER_WORKER = 4;

/** How a run trains. */
export interface WorkerPlan {
  /** 1: one process (`train()`); more: data-parallel workers of 1 thread each. */
  readonly workers: number;
  /** The note printed at the start. */
  readonly note: string;
}

/** `--workers`: `auto` or a positive integer. */
export function parseWorkers(value: string | undefined): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--workers must be a positive integer or auto, got '${value}'`);
  return n;
}

/**
 * The plan for a run: `--workers N` as given (N > 1 needs a CPU backend); `auto` trains data-parallel when the backend
 * is one where it measured faster ({@link AUTO_DATA_PARALLEL}), the thread budget (the backend's threads: `--threads`,
 * `$ADAPTERKIT_THREADS`, else all cores) and `os.availableParallelism()` are both ≥ 2, and the batch gives every
 * worker at least {@link MIN_EXAMPLES_PER_WORKER} examples; otherwise one process.
 */
export function planWorkers(requested: number | 'auto', backend: Pick<BackendInfo, 'name' | 'threads'>, batchSize: number, cores: number = availableParallelism()): WorkerPlan {
  const threads = backend.threads ?? 1;
  const one = (why: string): WorkerPlan => ({ workers: 1, note: `training in one process (${backend.name}, ${threads} thread${threads === 1 ? '' : 's'}): ${why}` });
  if (requested !== 'auto') {
    if (requested === 1) return one('--workers 1');
    if (!(WORKER_BACKENDS as readonly string[]).includes(backend.name)) {
      throw new CliError(`--workers ${requested} needs a CPU backend (${WORKER_BACKENDS.join(', ')}); this run's backend is ${backend.name} (give --workers 1, or --backend wasm)`);
    }
    const over = requested > cores ? ` (more workers than the ${cores} cores: they share them)` : '';
    return { workers: requested, note: `training on ${requested} workers × 1 thread (data-parallel, ${backend.name}, --workers ${requested})${over}` };
  }
  if (AUTO_DATA_PARALLEL[backend.name] !== true) return one(`data-parallel workers were not measured faster on ${backend.name}; --workers N to use them`);
  const workers = Math.min(threads, cores, Math.floor(batchSize / MIN_EXAMPLES_PER_WORKER));
  if (cores < 2) return one('one core');
  if (threads < 2) return one(`1 thread asked for (--threads / ADAPTERKIT_THREADS); --workers N for data-parallel workers`);
  if (workers < 2) return one(`batches of ${batchSize} are too small to split (fewer than ${MIN_EXAMPLES_PER_WORKER} examples per worker)`);
  return {
    workers,
    note: `training on ${workers} workers × 1 thread (data-parallel, faster than ${threads} threads on ${backend.name}; --workers 1 for one process)`,
  };
}

/** The replica module the workers import: `replica.ts` beside this file under the sources, `dist/replica.js` when built. */
export function replicaModule(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './replica.ts' : './replica.js', import.meta.url);
}
