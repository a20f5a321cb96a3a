import * as tf from '@tensorflow/tfjs-core';
import type { ModelHost } from './base';
import { readConfig, toModelConfig, type ModelConfig } from './config';
import { readCheckpointWeights } from './checkpoint-weights';
import { Rng, tensorEntryToTf, toSource, type SourceInput } from './core';
import { architectureOf } from './registry';
import { expectedWeights, matchWeights, ParameterStore, type SuppliedWeight, type WeightSpec } from './weights';

function construct(config: ModelConfig, store: ParameterStore, notes: readonly string[]): ModelHost {
  try {
    return architectureOf(config.modelType)!.create(config, store, notes);
  } catch (err) {
    store.dispose();
    throw err;
  }
}

/** Fill a store spec by spec; frees everything already created if one step fails. */
function fillStore(specs: readonly WeightSpec[], make: (spec: WeightSpec) => tf.Tensor, owned: boolean): ParameterStore {
  const store = new ParameterStore();
  try {
    for (const spec of specs) {
      const t = make(spec);
      try {
        store.addFromFile(spec, t);
      } finally {
        if (owned) t.dispose();
      }
    }
  } catch (err) {
    store.dispose();
    throw err;
  }
  return store;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Load a Hugging Face checkpoint folder: `config.json` + `model.safetensors`, or sharded safetensors with
 * `model.safetensors.index.json`, or `pytorch_model.bin` (sharded too, with its index) — see
 * {@link readCheckpointWeights}; float16/bfloat16 weights become float32 (HF state-dict names; keys may carry
 * the `bert.` / `roberta.` / `transformer.` prefix of `*For*` checkpoints, whose head weights are ignored and
 * listed in `host.notes`, as are non-parameter buffers).
 *
 * Every parameter becomes a trainable `tf.Variable` (the AdapterModel wrapper freezes them); nn.Linear weights are
 * stored transposed (`[in, out]`).
 *
 * @param dir - The checkpoint folder: a Node path, a URL (fetched), a map of files, a zip, a directory handle (see
 *   `SourceInput` of `@adapterkit/core`).
 * @throws FileFormatError for an unreadable/unsupported `config.json` or missing weights;
 *   WeightsMismatchError (before any tensor is allocated) listing every missing, unexpected and mis-shaped weight.
 */
export async function loadHost(dir: SourceInput): Promise<ModelHost> {
  const src = toSource(dir);
  const config = await readConfig({ source: src, name: 'config.json' });
  const { tensors, source: weightsPath } = await readCheckpointWeights(src);
  const supplied = new Map<string, SuppliedWeight>();
  for (const [key, e] of tensors) supplied.set(key, { shape: e.shape, isFloat: FLOAT_DTYPES.has(e.dtype), dtype: e.dtype });
  const match = matchWeights(config, supplied, weightsPath);
  const store = fillStore(match.specs, (spec) => tensorEntryToTf(tensors.get(match.keys.get(spec.name)!)!), true);
  return construct(config, store, match.notes);
}

/**
 * Build a host from in-memory weights in file layout (HF state-dict names and shapes; optional base-model prefix,
 * head keys and buffers ignored as in {@link loadHost}). The tensors are not consumed: the caller may dispose them
 * afterwards (the variables hold their own references).
 *
 * @param config - A parsed config or a raw HF `config.json` object.
 * @param weights - HF name → tensor (`[out, in]` for nn.Linear weights).
 * @throws WeightsMismatchError listing every missing, unexpected and mis-shaped weight.
 */
export function createHost(config: ModelConfig | Record<string, unknown>, weights: ReadonlyMap<string, tf.Tensor>): ModelHost {
  const cfg = toModelConfig(config);
  const supplied = new Map<string, SuppliedWeight>();
  for (const [key, t] of weights) supplied.set(key, { shape: t.shape, isFloat: t.dtype === 'float32', dtype: t.dtype });
  const match = matchWeights(cfg, supplied, '<memory>');
  const store = fillStore(match.specs, (spec) => weights.get(match.keys.get(spec.name)!)!, false);
  return construct(cfg, store, match.notes);
}

/**
 * A randomly initialised host (for pre-training from scratch), initialised as transformers does: weights and
 * embeddings `N(0, initializer_range²)` (0.02 by default), biases 0, LayerNorm weight 1 / bias 0, and the
 * `padding_idx` rows of BERT/RoBERTa word embeddings (and RoBERTa position embeddings) zero. Deterministic for a
 * given seed (every backend).
 *
 * @param config - A parsed config or a raw HF `config.json` object.
 * @param seed - Seed of the random stream (default 0).
 */
export function initHost(config: ModelConfig | Record<string, unknown>, seed = 0): ModelHost {
  const cfg = toModelConfig(config);
  const rng = new Rng(seed);
  const std = cfg.initializerRange;
  const arch = architectureOf(cfg.modelType)!;
  const zeroRowOf = (name: string): number | undefined => arch.zeroRow?.(cfg, name);
  const make = (spec: WeightSpec): tf.Tensor => {
    const shape = [...spec.shape];
    if (spec.init === 'zeros') return tf.zeros(shape);
    if (spec.init === 'ones') return tf.ones(shape);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = std * rng.normal();
    const row = zeroRowOf(spec.name);
    if (row !== undefined) data.fill(0, row * shape[1]!, (row + 1) * shape[1]!);
    return tf.tensor(data, shape, 'float32');
  };
  const store = fillStore(expectedWeights(cfg), make, true);
  return construct(cfg, store, []);
}
