/** Helpers for this package's tests (not exported from the package). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, defineAdapterMethod, type AdapterConfigBase, type AnyAdapterMethod, type CompiledStep, type ModelInputs } from '@adapterkit/core';
import { initHost, loadHost } from '@adapterkit/models';
import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import type { Example } from './train/data';

/** The golden fixtures of the repo. */
export const GOLDEN = fileURLToPath(new URL('../../../fixtures/golden', import.meta.url));

/** Folder of a golden case, e.g. `bert/train_pfeiffer`. */
export const caseDir = (id: string): string => join(GOLDEN, 'cases', id);

/** A golden base model with the bottleneck method (plus `extra` methods) installed. */
export async function goldenModel(model: 'bert' | 'gpt2', extra: AnyAdapterMethod[] = []): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(join(GOLDEN, 'models', model)), { methods: [...bottleneckPlugins, ...extra], warn: () => undefined });
}

/** A tiny randomly initialised BERT (hidden 16, 2 layers, vocab 50) with the bottleneck method (plus `extra`). */
export function tinyModel(seed = 0, overrides: Record<string, unknown> = {}, extra: AnyAdapterMethod[] = []): AdapterModel {
  const host = initHost(
    {
      model_type: 'bert',
      vocab_size: 50,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 32,
      ...overrides,
    },
    seed,
  );
  return new AdapterModel(host, { methods: [...bottleneckPlugins, ...extra], warn: () => undefined });
}

/** A `[rows, len]` int32 batch of token ids in `[3, vocab)` from a fixed pattern. */
export function tokenBatch(rows: number, len: number, vocab = 50, offset = 0): ModelInputs {
  const ids = Array.from({ length: rows }, (_, r) => Array.from({ length: len }, (_, c) => 3 + ((r * 7 + c * 3 + offset) % (vocab - 3))));
  return { inputIds: tf.tensor2d(ids, [rows, len], 'int32') };
}

/** Largest |a − b|. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

interface ShiftConfig extends AdapterConfigBase {
  readonly method: 'test-shift';
  readonly amount: number;
}

/**
 * A test method acting only at `head.input` (adds `amount` to the hidden states entering an LM head). With
 * `declare` false it does not declare the point, so it can be added to hosts that never run it (BERT).
 */
export function shiftMethod(declare: boolean): AnyAdapterMethod {
  return defineAdapterMethod<ShiftConfig>({
    name: 'test-shift',
    architecture: 'test_shift',
    fields: { amount: { type: 'float' } },
    defaults: { amount: 1.0 },
    hooks: declare ? ['head.input'] : [],
    meta: { package: '@adapterkit/training-test', version: '0.0.0', apiVersion: 1 },
    create({ config }) {
      return { handlers: { 'head.input': (layer) => (layer === -1 ? (x, next) => next(tf.add(x, config.amount)) : undefined) } };
    },
  });
}

interface ScaleConfig extends AdapterConfigBase {
  readonly method: 'test-scale';
  readonly init: number;
}

type FfnStep = CompiledStep<'ffn.output'>;

function rows<T extends tf.Tensor>(t: T, start: number, size: number): T {
  return tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]) as T;
}

/** Run each child step on its rows of a sub-layer payload and concatenate the results along the batch. */
function splitRows(children: readonly (FfnStep | null)[], sizes: readonly number[]): FfnStep {
  return (payload, next) => {
    let start = 0;
    const outs = children.map((step, i) => {
      const size = sizes[i]!;
      const part = { ...payload, hidden: rows(payload.hidden, start, size), residual: rows(payload.residual, start, size) };
      start += size;
      return step ? step(part, next) : next(part);
    });
    return tf.concat(outs, 0) as tf.Tensor3D;
  };
}

/**
 * A test method that scales the FFN sub-layer output by a learned `[hidden]` vector and implements Parallel (the
 * batch is replicated at the first layer, each child gets its replica) and BatchSplit at `ffn.output`, so head
 * setups of those blocks can be tested.
 */
export const scaleMethod: AnyAdapterMethod = defineAdapterMethod<ScaleConfig>({
  name: 'test-scale',
  architecture: 'test_scale',
  fields: { init: { type: 'float' } },
  defaults: { init: 1.0 },
  hooks: ['ffn.output'],
  meta: { package: '@adapterkit/training-test', version: '0.0.0', apiVersion: 1 },
  blocks: {
    BatchSplit: { 'ffn.output': ({ block, children }) => splitRows(children.map((c) => c.step), block.batchSizes ?? []) },
    Parallel: {
      'ffn.output': ({ children, context }) => (payload, next) => {
        const n = children.length;
        const batch = context(children[0]!.adapters[0]!).forward.batchSize;
        const p =
          payload.hidden.shape[0] === batch
            ? { ...payload, hidden: tf.tile(payload.hidden, [n, 1, 1]) as tf.Tensor3D, residual: tf.tile(payload.residual, [n, 1, 1]) as tf.Tensor3D }
            : payload;
        return splitRows(
          children.map((c) => c.step),
          children.map(() => batch),
        )(p, next);
      },
    },
  },
  create({ name, config, host, params, rng }) {
    const scales = Array.from({ length: host.numLayers }, (_, i) =>
      params.add(`${host.modulePath('ffn.output', i)}.scales.${name}.weight`, tf.add(config.init, tf.mul(0.2, tf.randomNormal([host.hiddenSize], 0, 1, 'float32', rng.next() * 1e6)))),
    );
    return {
      handlers: {
        'ffn.output': (layer) => (payload, next) => next({ ...payload, hidden: tf.mul(payload.hidden, scales[layer]!) as tf.Tensor3D }),
      },
    };
  },
});

/** Sequences of {@link tinyModel}'s vocabulary whose label is decided by their first token (< 25 → 0, else 1), lengths 4–7. */
export function classificationData(n: number, offset = 0): Example[] {
  return Array.from({ length: n }, (_, i) => {
    const first = 3 + ((i * 11 + offset) % 45);
    const len = 4 + ((i + offset) % 4);
    const inputIds = [first, ...Array.from({ length: len - 1 }, (_, j) => 3 + ((i * 5 + j * 7 + offset) % 45))];
    return { inputIds, labels: first < 25 ? 0 : 1 };
  });
}
