/**
 * The replica module of `adapterkit train --workers N` (`@adapterkit/data-parallel`): each worker thread imports this
 * module and calls {@link createReplica} on its own backend, which rebuilds exactly the model the command builds —
 * the same model folder loaded as `loadModel` does, the same adapter (or none with `--full`) and the same head with
 * the same labels. The trainable values need not match (the pool copies the main model's before every step); the
 * frozen weights must, and the pool checks them.
 *
 * An entry of its own in the build (`dist/replica.js`, see tsup.config.ts), so that the installed CLI can name it.
 */
import { AdapterModel } from '@adapterkit/core';
import { LabelMap } from '@adapterkit/data';
import { loadHost } from '@adapterkit/models';
import type { Task } from './datasets';
import { addTaskHead } from './heads';
import { ALL_METHODS } from './methods';

/** What a worker needs to rebuild the command's model (structured-cloneable: no functions). */
export interface ReplicaOptions {
  /** The model folder the command loaded (absolute). */
  readonly modelDir: string;
  /** `--seed`: the model's seed (adapter initialisation) and the head's. */
  readonly seed: number;
  /** Adapter and head name. */
  readonly name: string;
  readonly task: Task;
  /** Adapter config string; absent with `--full` (no adapter). */
  readonly config?: string;
  /** Label names of a classification/tagging head, in id order. */
  readonly labels?: readonly string[];
}

/** The command's model, built in a worker: host from `modelDir`, every method installed, adapter and head added. */
export async function createReplica(o: ReplicaOptions): Promise<AdapterModel> {
  const host = await loadHost(o.modelDir);
  const model = new AdapterModel(host, { methods: ALL_METHODS, warn: () => undefined, seed: o.seed });
  if (o.config !== undefined) model.addAdapter(o.name, o.config);
  addTaskHead(model, o.name, o.task, o.labels ? new LabelMap(o.labels) : undefined, o.seed);
  return model;
}
