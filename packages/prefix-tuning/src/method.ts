import * as tf from '@tensorflow/tfjs-core';
import packageJson from '../package.json';
import { CapabilityError, defineAdapterMethod, type MethodInstance } from '@adapterkit/core';
import { prefixKeyValueHandler, type PrefixForwardState } from './attention';
import { PREFIX_BLOCKS } from './blocks';
import {
  PREFIX_TUNING,
  PREFIX_TUNING_DEFAULTS,
  PREFIX_TUNING_FIELDS,
  PREFIX_TUNING_PRESETS,
  prefixLayers,
  validatePrefixTuningConfig,
  type PrefixTuningConfig,
} from './config';
import { createPrefixGates } from './gate';
import { createPrefixPool, toSlabs, type PrefixPool } from './pool';

/** Package version written into the method's metadata. */

/** A live prefix-tuning adapter: its handlers plus the pool (used by `ejectPrefixTuning`). */
export interface PrefixTuningInstance extends MethodInstance<PrefixForwardState> {
  readonly prefixPool: PrefixPool;
}

/** Whether a method instance is a prefix-tuning instance. */
export function isPrefixTuningInstance(instance: unknown): instance is PrefixTuningInstance {
  return typeof (instance as Partial<PrefixTuningInstance> | undefined)?.prefixPool?.materialise === 'function';
}

/**
 * Prefix tuning (Li & Liang 2021) as in adapter-transformers 3.2.1: P trainable key/value positions prepended to
 * the self-attention keys and values of every layer not in `leave_out`, always attended. The prefixes of all layers
 * come from one pool `[P, L·2·H]` (flat, or `MLP(E)`), materialised once per forward; layer l uses the pool's key
 * slab 2l and value slab 2l+1. Config names: `prefix_tuning`, `prefix_tuning_flat`. Composition: Stack (prefixes
 * concatenate, the later adapter's first), BatchSplit and Parallel (each batch slice gets its child's prefixes, shorter
 * ones front-padded with masked positions); Fuse, Split and Average are not supported, as in the reference.
 */
export const prefixTuning = defineAdapterMethod<PrefixTuningConfig, PrefixForwardState>({
  name: PREFIX_TUNING,
  architecture: PREFIX_TUNING,
  fields: PREFIX_TUNING_FIELDS,
  defaults: PREFIX_TUNING_DEFAULTS,
  presets: PREFIX_TUNING_PRESETS,
  validate: validatePrefixTuningConfig,
  hooks: ['attention.kv'],
  blocks: PREFIX_BLOCKS,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
  description: 'Prefix tuning: trainable key/value prefixes in every attention layer (flat or MLP-reparameterised)',
  create(ctx) {
    const { config, host } = ctx;
    if (host.numHeads * host.headDim !== host.hiddenSize) {
      throw new CapabilityError(
        'UNSUPPORTED_HEAD_LAYOUT',
        `prefix_tuning needs hidden_size = heads × head_dim; the ${host.modelType} host has ${host.hiddenSize} ≠ ${host.numHeads} × ${host.headDim}`,
      );
    }
    const layers = prefixLayers(config, host.numLayers);
    const prefixId = new Map(layers.map((layer, id) => [layer, id]));
    const pool = createPrefixPool(ctx, layers.length);
    const gates = config.useGating ? createPrefixGates(ctx, layers) : undefined;
    const instance: PrefixTuningInstance = {
      prefixPool: pool,
      handlers: {
        'attention.kv': (layer) => {
          const id = prefixId.get(layer);
          return id === undefined ? undefined : prefixKeyValueHandler(id, config.dropout, gates?.get(layer));
        },
      },
      beginForward: () => ({ slabs: tf.tidy(() => toSlabs(pool.materialise(), host.numHeads, host.headDim)) }),
    };
    return instance;
  },
});
