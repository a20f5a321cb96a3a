/**
 * What the main thread and every worker do the same way to a model: set its trainability, list its trainable
 * parameters, fingerprint its frozen weights.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { getHeads, type TrainableParam } from '@adapterkit/training';
import type { Fingerprint, ParamLayout, TrainingSetup } from './protocol';

/**
 * The function a replica module exports: called once in each worker (on that worker's backend, already
 * initialised) with the structured-cloned `ReplicaSpec.options`, it builds the model exactly as the main model was
 * built — same architecture, same frozen weights, the trained adapter(s) and heads added under the same names. The
 * trainable values need not match: the pool copies the main model's into every replica before each step. Frozen
 * weights must match; the pool compares fingerprints and throws `REPLICA_MISMATCH` otherwise.
 */
export type ReplicaFactory = (options: unknown) => AdapterModel | Promise<AdapterModel>;

/** Set which parameters train, as `train()` of `@adapterkit/training` does for the same mode. */
export function applyTrainingSetup(model: AdapterModel, setup: TrainingSetup): void {
  if (setup.mode === 'full' || setup.mode === 'heads') {
    model.freezeModel(setup.mode === 'heads');
    model.freezeAdapters();
    return;
  }
  model.trainAdapter(setup.adapter!.length === 1 ? setup.adapter![0]! : setup.adapter!);
}

/** Flat layout of trainable parameters (their order is `collectTrainable`'s, which is deterministic). */
export function layoutOf(params: readonly TrainableParam[]): ParamLayout {
  const offsets: number[] = [];
  let total = 0;
  for (const p of params) {
    offsets.push(total);
    total += p.variable.size;
  }
  return { keys: params.map((p) => p.key), shapes: params.map((p) => [...p.variable.shape]), offsets, total };
}

/** Every variable of the model that does not train: base, adapters, parameter groups, heads (keys as `collectTrainable`'s). */
function frozenVariables(model: AdapterModel): Array<[string, tf.Variable]> {
  const out: Array<[string, tf.Variable]> = [];
  for (const [name, v] of model.host.parameters) if (!v.trainable) out.push([`base.${name}`, v]);
  for (const adapter of model.adapterNames()) {
    for (const p of model.adapterParams(adapter)) if (!p.variable.trainable) out.push([`adapter.${adapter}.${p.key}`, p.variable]);
  }
  for (const id of model.paramGroupIds()) {
    for (const p of model.paramGroup(id)?.list() ?? []) if (!p.variable.trainable) out.push([`group.${id}.${p.key}`, p.variable]);
  }
  const heads = getHeads(model);
  for (const name of heads.names()) for (const p of heads.require(name).list()) if (!p.variable.trainable) out.push([p.key, p.variable]);
  return out;
}

/**
 * The float64 sum and sum of squares of every frozen variable, in a deterministic order. Two models with the same
 * frozen weights give identical fingerprints (the sums run in JS over the same values in the same order).
 */
export async function frozenFingerprint(model: AdapterModel): Promise<Fingerprint> {
  const out: Array<readonly [string, number, number]> = [];
  for (const [key, v] of frozenVariables(model)) {
    const data = await v.data();
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      sum += x;
      sq += x * x;
    }
    out.push([key, sum, sq]);
  }
  return out;
}

/** The first difference between two replicas' trainable layouts or frozen fingerprints, described; undefined when equal. */
export function replicaDifference(
  main: { keys: readonly string[]; shapes: ReadonlyArray<readonly number[]>; fingerprint: Fingerprint },
  other: { keys: readonly string[]; shapes: ReadonlyArray<readonly number[]>; fingerprint: Fingerprint },
): string | undefined {
  const n = Math.max(main.keys.length, other.keys.length);
  for (let i = 0; i < n; i++) {
    if (main.keys[i] !== other.keys[i]) return `trainable parameter ${i}: main has ${main.keys[i] ?? '(none)'}, replica has ${other.keys[i] ?? '(none)'}`;
    if (main.shapes[i]!.join() !== other.shapes[i]!.join()) return `trainable parameter ${main.keys[i]}: shape [${main.shapes[i]!.join(', ')}] in main, [${other.shapes[i]!.join(', ')}] in the replica`;
  }
  const m = main.fingerprint;
  const o = other.fingerprint;
  for (let i = 0; i < Math.max(m.length, o.length); i++) {
    const a = m[i];
    const b = o[i];
    if (a?.[0] !== b?.[0]) return `frozen variable ${i}: main has ${a?.[0] ?? '(none)'}, replica has ${b?.[0] ?? '(none)'}`;
    if (a![1] !== b![1] || a![2] !== b![2]) return `frozen variable ${a![0]} has other values in the replica (sum ${b![1]} vs ${a![1]} in main)`;
  }
  return undefined;
}
