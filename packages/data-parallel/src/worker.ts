/**
 * The worker thread of a data-parallel pool: builds a replica of the model on a backend instance of its own, then
 * for every step copies the shared trainable values into its variables, computes the gradient of its shard's mean
 * loss and writes it, with the loss and the shard's weight, into shared memory. Started by the pool only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend } from '@adapterkit/backends';
import { AdapterKitError, Rng, type AdapterModel } from '@adapterkit/core';
import { batchLoss, collate, collectTrainable, resolveScoring, type TrainableParam } from '@adapterkit/training';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';
import { applyTrainingSetup, frozenFingerprint, type ReplicaFactory } from './replica';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: FromWorker): void => port.postMessage(m);

function fail(err: unknown): void {
  const code = err instanceof AdapterKitError ? err.code : 'WORKER_ERROR';
  send({ type: 'error', code, message: err instanceof Error ? err.message : String(err) });
}

async function buildReplica(): Promise<AdapterModel> {
  const mod = (await import(init.replica.url)) as Record<string, unknown>;
  const factory = mod[init.replica.exportName];
  if (typeof factory !== 'function') {
    throw new AdapterKitError('REPLICA_MISMATCH', `replica module ${init.replica.url} has no function export '${init.replica.exportName}'`);
  }
  return (factory as ReplicaFactory)(init.replica.options);
}

async function main(): Promise<void> {
  const backend = await initBackend(init.backend, { threads: init.threads });
  const model = await buildReplica();
  applyTrainingSetup(model, init.setup);
  const params: TrainableParam[] = collectTrainable(model);
  const vars = params.map((p) => p.variable);
  const scoring = resolveScoring(model, init.scoring, undefined, 'data-parallel worker');
  send({ type: 'ready', backend: describeBackend(backend), keys: params.map((p) => p.key), shapes: params.map((p) => [...p.variable.shape]), fingerprint: await frozenFingerprint(model) });

  const { layout } = init;
  const shared = new Float32Array(init.buffers.params);
  const grads = new Float32Array(init.buffers.grads, init.index * layout.total * 4, layout.total);
  const present = new Uint8Array(init.buffers.present, init.index * params.length, params.length);
  const stats = new Float64Array(init.buffers.stats, init.index * 2 * 8, 2);

  const step = async (m: ToWorker): Promise<void> => {
    // the values the pool wrote for this step (copied: a tensor must not alias shared memory that changes later)
    tf.tidy(() => params.forEach((p, i) => p.variable.assign(tf.tensor(shared.slice(layout.offsets[i], layout.offsets[i]! + p.variable.size), p.variable.shape))));
    const rng = m.training ? new Rng(m.seed) : undefined;
    const out = tf.tidy(() => {
      const batch = collate(m.examples, scoring.padTokenId, scoring.labelKind);
      const { value, grads: g } = tf.variableGrads(() => batchLoss(model, scoring, batch, m.training, rng), vars);
      return { loss: value, weight: batch.weight, grads: params.map((p) => g[p.variable.name]) };
    });
    try {
      for (let i = 0; i < params.length; i++) {
        const g = out.grads[i];
        present[i] = g ? 1 : 0;
        if (g) grads.set(await g.data(), layout.offsets[i]);
      }
      stats[0] = (await out.loss.data())[0]!;
      stats[1] = out.weight;
    } finally {
      tf.dispose([out.loss, ...out.grads.filter((g): g is tf.Tensor => g !== undefined)]);
    }
  };

  // the pool stops workers with terminate(), which frees the replica with the thread
  port.on('message', (m: ToWorker) => {
    step(m).then(
      () => send({ type: 'done', id: m.id }),
      (err: unknown) => fail(err),
    );
  });
}

main().catch(fail);
