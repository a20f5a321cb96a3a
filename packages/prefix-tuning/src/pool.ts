import * as tf from '@tensorflow/tfjs-core';
import { getActivation, init, linear, type CreateContext } from '@adapterkit/core';
import type { PrefixTuningConfig } from './config';

/**
 * Default location key of self-attention prefixes in the reference's pool (`PrefixTuningShim("self_prefix")` on BERT,
 * RoBERTa, GPT-2 and Llama; encoder-decoder models also have `encoder_prefix` / `cross_prefix`). A host names its
 * own in `HostInfo.selfPrefixKey` (DistilBERT: `self`).
 */
export const SELF_PREFIX = 'self_prefix';

/**
 * The prefix parameters of one adapter: the reference's `PrefixTuning` (reparameterised: `wte` + MLP
 * `control_trans`) or `FlatPrefixTuning` (`control_trans` trained directly), for L prefixed layers (layers in
 * `leave_out` excluded).
 */
export interface PrefixPool {
  /** Flat pool only: `control_trans` `[P·L·2·H]`. */
  readonly controlTrans: tf.Variable | undefined;
  /**
   * The prefix keys/values of every prefixed layer, `[P, L·2·H]` (row p = position p; columns in
   * `(2·L, heads, headDim)` order). Reparameterised: `MLP(E)`; flat: `control_trans` viewed as a matrix. No
   * dropout. The result is a new tensor (the caller owns it).
   */
  materialise(): tf.Tensor2D;
}

/**
 * Register the pool's parameters for `numLayers` (L) prefixed layers under the reference's state-dict keys and
 * return it.
 *
 * Keys (`<name>` = adapter name, H = hidden size, b = bottleneck size, P = prefix length):
 * - reparameterised: `prefix_tuning.prefix_tunings.<name>.self_prefix.wte.weight` `[P, H]`,
 *   `….control_trans.0.{weight [b, H], bias [b]}`, `….control_trans.2.{weight [L·2·H, b], bias [L·2·H]}`;
 * - flat: `prefix_tuning.prefix_tunings.<name>.self_prefix.control_trans` `[P·L·2·H]`.
 *
 * The reference also lists the pool under every attention layer (`<layer>.prefix_tuning.pool.prefix_tunings…`);
 * those keys are registered as aliases, accepted on load and never written.
 *
 * Initialisation as the reference: `wte` and the flat vector N(0, 1), the MLP's Linears PyTorch's default
 * (kaiming_uniform(a=√5) weights = U(±1/√fan_in), biases U(±1/√fan_in)).
 */
export function createPrefixPool(ctx: CreateContext<PrefixTuningConfig>, numLayers: number): PrefixPool {
  const { name, config, host, params, rng } = ctx;
  const H = host.hiddenSize;
  const P = config.prefixLength;
  const width = numLayers * 2 * H;
  const location = host.selfPrefixKey ?? SELF_PREFIX;
  const root = `prefix_tuning.prefix_tunings.${name}.${location}`;
  const layerRoots: string[] = [];
  for (let i = 0; i < host.numLayers; i++) {
    const path = host.modulePath('attention.self', i);
    if (path !== undefined) layerRoots.push(`${path}.prefix_tuning.pool.prefix_tunings.${name}.${location}`);
  }
  const add = (suffix: string, initial: tf.Tensor, layout: 'linear' | 'plain' = 'plain'): tf.Variable =>
    params.add(`${root}.${suffix}`, initial, { layout, aliases: layerRoots.map((r) => `${r}.${suffix}`) });

  if (config.flat) {
    const controlTrans = add('control_trans', init.normal(rng, [P * width], 1));
    return {
      controlTrans,
      materialise: () => tf.reshape(controlTrans, [P, width]),
    };
  }

  const b = config.bottleneckSize;
  const act = getActivation(config.nonLinearity);
  const wte = add('wte.weight', init.normal(rng, [P, H], 1));
  const w0 = add('control_trans.0.weight', init.kaimingUniform(rng, [H, b], H), 'linear');
  const b0 = add('control_trans.0.bias', init.kaimingUniform(rng, [b], H));
  const w2 = add('control_trans.2.weight', init.kaimingUniform(rng, [b, width], b), 'linear');
  const b2 = add('control_trans.2.bias', init.kaimingUniform(rng, [width], b));
  return {
    controlTrans: undefined,
    materialise: () =>
      tf.tidy(() => {
        const hidden = act(linear(wte as tf.Tensor2D, w0 as tf.Tensor2D, b0 as tf.Tensor1D)) as tf.Tensor2D;
        return linear(hidden, w2 as tf.Tensor2D, b2 as tf.Tensor1D);
      }),
  };
}

/**
 * Per-layer key/value slabs of a materialised pool: `[P, L·2·H]` → view `(P, 2·L, heads, headDim)` → permute to
 * `[2·L, heads, P, headDim]`. Prefixed layer `l` (its rank among the prefixed layers) uses slab `2l` as keys and
 * `2l+1` as values (the reference's `view(B, P, 2·L, heads, headDim).permute(2, 0, 3, 1, 4).split(2)`).
 */
export function toSlabs(pool: tf.Tensor2D, numHeads: number, headDim: number): tf.Tensor4D {
  const [P, width] = pool.shape;
  return tf.transpose(tf.reshape(pool, [P, width / (numHeads * headDim), numHeads, headDim]), [1, 2, 0, 3]);
}
