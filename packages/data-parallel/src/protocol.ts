/**
 * Messages and shared memory between the pool (main thread) and its workers. Internal to the package.
 *
 * Shared memory (one `SharedArrayBuffer` each, allocated by the pool):
 * - `params`: the trainable values, `Float32Array(P)` (P = Σ sizes), written by the pool before every step and read
 *   by every worker at the start of the step;
 * - `grads`: `Float32Array(workers × P)`, worker w writes the gradient of its shard's mean loss at `[w·P, (w+1)·P)`;
 * - `present`: `Uint8Array(workers × numParams)`, 1 where worker w's loss had a gradient for param i;
 * - `stats`: `Float64Array(workers × 2)`, worker w's `[mean loss, weight]` (weight: the label items the mean is over).
 */
import type { LabelKind, TrainExample } from '@adapterkit/training';

/** A module that builds a replica of the model in a worker (see `ReplicaSpec`). */
export interface ReplicaRef {
  readonly url: string;
  readonly exportName: string;
  readonly options: unknown;
}

/** How trainability is set, the same way in the main thread and in every worker. */
export interface TrainingSetup {
  readonly mode: 'adapter' | 'full' | 'heads';
  /** Adapter names trained in `adapter` mode (a Stack when several). */
  readonly adapter?: readonly string[];
}

/** Trainable parameters, in `collectTrainable` order. */
export interface ParamLayout {
  readonly keys: readonly string[];
  readonly shapes: ReadonlyArray<readonly number[]>;
  /** Element offset of each param in the flat buffers. */
  readonly offsets: readonly number[];
  /** Σ sizes. */
  readonly total: number;
}

/** `workerData` of a worker. */
export interface WorkerInit {
  readonly index: number;
  readonly replica: ReplicaRef;
  readonly backend: string;
  readonly threads: number;
  readonly setup: TrainingSetup;
  readonly scoring: { readonly head?: string; readonly labelKind?: LabelKind; readonly padTokenId?: number };
  readonly layout: ParamLayout;
  readonly buffers: { readonly params: SharedArrayBuffer; readonly grads: SharedArrayBuffer; readonly present: SharedArrayBuffer; readonly stats: SharedArrayBuffer };
}

/** Pool → worker: compute the gradient of a shard (the pool stops workers with `terminate()`). */
export interface ToWorker {
  readonly type: 'step';
  readonly id: number;
  readonly examples: readonly TrainExample[];
  readonly seed: number;
  readonly training: boolean;
}

/** A frozen variable's key and the float64 sum of its values (and of their squares): replicas must agree. */
export type Fingerprint = ReadonlyArray<readonly [string, number, number]>;

/** Worker → pool. */
export type FromWorker =
  | { readonly type: 'ready'; readonly backend: string; readonly keys: readonly string[]; readonly shapes: ReadonlyArray<readonly number[]>; readonly fingerprint: Fingerprint }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** The dropout seed of worker `worker` at step `step` of a run seeded `seed` (deterministic, distinct per worker and step). */
export function shardSeed(seed: number, step: number, worker: number): number {
  return (seed ^ Math.imul(step + 1, 0x9e3779b1) ^ Math.imul(worker + 1, 0x85ebca6b)) >>> 0;
}
