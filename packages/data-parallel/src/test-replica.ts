/**
 * Test support (not exported): the replica factory of this package's tests, on the golden tiny BERT
 * (fixtures/golden/models/bert: hidden 32, 2 layers, vocab 512) with a Pfeiffer adapter and a head.
 */
import { fileURLToPath } from 'node:url';
import { AdapterModel } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { addClassificationHead, addTaggingHead } from '@adapterkit/training';

/** Options of {@link createReplica}. */
export interface TestReplicaOptions {
  readonly head: 'class' | 'tag';
  /** Adapter config string (default `pfeiffer`). */
  readonly config?: string;
  /** Seed of the adapter's and head's initial values. */
  readonly seed?: number;
}

/** The golden BERT with adapter `task` and head `task` (3 classes, or 4 tags). */
export async function createReplica(o: TestReplicaOptions): Promise<AdapterModel> {
  const host = await loadHost(fileURLToPath(new URL('../../../fixtures/golden/models/bert', import.meta.url)));
  const model = new AdapterModel(host, { methods: [...bottleneck], warn: () => undefined });
  model.addAdapter('task', o.config ?? 'pfeiffer', { seed: o.seed ?? 7 });
  if (o.head === 'class') addClassificationHead(model, 'task', { numLabels: 3, seed: (o.seed ?? 7) + 1 });
  else addTaggingHead(model, 'task', { numLabels: 4, seed: (o.seed ?? 7) + 1 });
  return model;
}

/** A module path for `ReplicaSpec.module`. */
export const TEST_REPLICA = fileURLToPath(new URL('./test-replica.ts', import.meta.url));
