import * as tf from '@tensorflow/tfjs-core';
import {
  baseName as basename,
  dirName as dirname,
  hostFs,
  joinPath as join,
  AdapterKitError,
  parseSafetensors,
  serializeSafetensors,
  writeFilesAtomic,
  type SerializableTensor,
  type TensorEntry,
} from '@adapterkit/core';
import type { TrainableParam } from './params';

/** Files of a checkpoint folder `checkpoint-<step>/`. */
export const CHECKPOINT_FILES = {
  state: 'trainer_state.json',
  params: 'params.safetensors',
  optimizer: 'optimizer.safetensors',
  best: 'best.safetensors',
} as const;

/** One evaluation. */
export interface EvalRecord {
  readonly step: number;
  readonly epoch: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** The resumable state of a training run, written as `trainer_state.json`. */
export interface TrainerState {
  readonly version: 1;
  /** Optimizer steps done. */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Micro-batches of the current epoch already consumed. */
  readonly batchInEpoch: number;
  /** Seed of the data order. */
  readonly seed: number;
  /** State of the dropout random stream. */
  readonly rngState: number;
  /** Best evaluation so far (the early-stopping / keep-best metric). */
  readonly best: { readonly metric: string; readonly value: number; readonly step: number } | null;
  /** Evaluations without improvement since the best one. */
  readonly badEvals: number;
  readonly history: readonly EvalRecord[];
  /** AdamW step count per param key. */
  readonly optimizerSteps: Readonly<Record<string, number>>;
  /** Keys of the trainable params, in order. */
  readonly paramKeys: readonly string[];
}

/** Copy variables (memory layout, exact) into serialisable tensors keyed by param key. */
export async function exportParams(params: ReadonlyArray<{ key: string; value: tf.Tensor }>): Promise<Record<string, SerializableTensor>> {
  const out: Record<string, SerializableTensor> = {};
  for (const { key, value } of params) out[key] = { shape: [...value.shape], data: Float32Array.from((await value.data()) as Float32Array) };
  return out;
}

/**
 * Write a checkpoint folder atomically: everything goes into a temporary sibling folder (files fsync'ed, `extra`
 * writes sub-folders such as adapters and heads), which is then renamed to `dir`. A crash leaves either the previous
 * checkpoint or the complete new one, never a partial folder under the final name.
 */
export async function writeCheckpoint(
  dir: string,
  files: Record<string, Uint8Array | string>,
  extra: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${hostFs.uniqueSuffix()}`);
  try {
    await writeFilesAtomic(tmp, files);
    await extra(tmp);
    if (await hostFs.exists(dir)) await hostFs.rm(dir);
    await hostFs.rename(tmp, dir);
  } catch (err) {
    await hostFs.rm(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Remove the temporary folders that checkpoint writes of dead processes left in `dir` (a run killed while writing
 * leaves `.checkpoint-<step>.tmp-<pid>-<hex>`). Folders of live processes, this one included, are kept. Returns the
 * names removed.
 */
export async function removeAbandonedCheckpointWrites(dir: string): Promise<string[]> {
  if (!(await hostFs.exists(dir))) return [];
  const removed: string[] = [];
  for (const name of await hostFs.readdir(dir)) {
    const m = /^\.checkpoint-\d+\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await hostFs.rm(join(dir, name));
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Step of a checkpoint folder name (`checkpoint-12` → 12), or undefined. */
export function checkpointStep(name: string): number | undefined {
  const m = /^checkpoint-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Checkpoint folders of a directory, oldest first. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  if (!(await hostFs.exists(dir))) return [];
  const names = (await hostFs.readdir(dir)).filter((n) => checkpointStep(n) !== undefined);
  return names.sort((a, b) => checkpointStep(a)! - checkpointStep(b)!).map((n) => join(dir, n));
}

/** A checkpoint read back. */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly state: TrainerState;
  readonly params: Map<string, TensorEntry>;
  readonly moments: Map<string, TensorEntry>;
  readonly best?: Map<string, TensorEntry>;
}

/** Read a checkpoint folder written by the trainer. */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const statePath = join(dir, CHECKPOINT_FILES.state);
  let state: TrainerState;
  try {
    state = JSON.parse(new TextDecoder().decode(await hostFs.readFile(statePath))) as TrainerState;
  } catch (err) {
    throw new AdapterKitError('BAD_CHECKPOINT', `${statePath}: cannot read trainer state (${(err as Error).message})`, { cause: err });
  }
  if (state.version !== 1) throw new AdapterKitError('BAD_CHECKPOINT', `${statePath}: unsupported checkpoint version ${String(state.version)}`);
  const read = async (f: string): Promise<Map<string, TensorEntry>> => {
    const p = join(dir, f);
    return parseSafetensors(await hostFs.readFile(p), p).tensors;
  };
  const bestPath = join(dir, CHECKPOINT_FILES.best);
  return {
    dir,
    state,
    params: await read(CHECKPOINT_FILES.params),
    moments: await read(CHECKPOINT_FILES.optimizer),
    ...((await hostFs.exists(bestPath)) ? { best: await read(CHECKPOINT_FILES.best) } : {}),
  };
}

/**
 * Check that a checkpoint holds exactly the current trainable params with the right shapes (one error listing
 * every difference), then assign them.
 */
export function restoreParams(params: readonly TrainableParam[], tensors: ReadonlyMap<string, TensorEntry>, source: string): void {
  const problems: string[] = [];
  const keys = new Set(params.map((p) => p.key));
  for (const p of params) {
    const t = tensors.get(p.key);
    if (!t) problems.push(`missing: ${p.key}`);
    else if (t.shape.join() !== p.variable.shape.join()) problems.push(`shape mismatch: ${p.key}: expected [${p.variable.shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  for (const k of tensors.keys()) if (!keys.has(k)) problems.push(`not trainable now: ${k}`);
  if (problems.length > 0) {
    throw new AdapterKitError(
      'CHECKPOINT_MISMATCH',
      `${source}: the checkpoint's parameters differ from the model's trainable parameters (same adapters, heads and mode?):\n  ${problems.join('\n  ')}`,
    );
  }
  tf.tidy(() => {
    for (const p of params) {
      const t = tensors.get(p.key)!;
      p.variable.assign(tf.tensor(t.data as Float32Array, t.shape));
    }
  });
}

/** Serialise named tensors (safetensors bytes). */
export async function paramsFile(params: ReadonlyArray<{ key: string; value: tf.Tensor }>): Promise<Uint8Array> {
  return serializeSafetensors(await exportParams(params), { format: 'adapterkit-checkpoint' });
}
