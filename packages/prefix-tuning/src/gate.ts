import * as tf from '@tensorflow/tfjs-core';
import { CapabilityError, init, linear, type CreateContext } from '@adapterkit/core';
import type { PrefixTuningConfig } from './config';

/** The UniPELT gate of one layer: `Linear(H, 1 | 2)`, weight in memory layout `[H, 1 | 2]`. */
export interface PrefixGate {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
}

/**
 * Register the gates of the prefixed `layers` (`use_gating`): `<attention.self path>.prefix_tuning.prefix_gates.<name>.
 * {weight [1 | 2, H], bias [1 | 2]}` (2 outputs = separate key and value gates when `shared_gating` is false).
 * Initialisation as the reference: weight N(0, 0.02), bias PyTorch default U(±1/√H).
 */
export function createPrefixGates(ctx: CreateContext<PrefixTuningConfig>, layers: readonly number[]): Map<number, PrefixGate> {
  const { name, config, host, params, rng } = ctx;
  const H = host.hiddenSize;
  const outputs = config.sharedGating ? 1 : 2;
  const gates = new Map<number, PrefixGate>();
  for (const layer of layers) {
    const path = host.modulePath('attention.self', layer);
    if (path === undefined) {
      throw new CapabilityError('NO_MODULE_PATH', `prefix_tuning use_gating: the ${host.modelType} host names no 'attention.self' module for layer ${layer}, so the gate has no key`);
    }
    const root = `${path}.prefix_tuning.prefix_gates.${name}`;
    gates.set(layer, {
      weight: params.add(`${root}.weight`, init.normal(rng, [H, outputs], 0.02), { layout: 'linear' }),
      bias: params.add(`${root}.bias`, init.kaimingUniform(rng, [outputs], H)),
    });
  }
  return gates;
}

/** Column `col` of `g` `[batch, k]` as `[batch, 1, 1, 1]`, to scale `[batch, heads, P, headDim]` prefixes. */
function gateColumn(g: tf.Tensor2D, col: number): tf.Tensor4D {
  const batch = g.shape[0];
  return tf.reshape(tf.slice(g, [0, col], [batch, 1]), [batch, 1, 1, 1]);
}

/**
 * Scale prefix keys/values `[batch, heads, P, headDim]` by the gate: g = mean over the sequence of
 * `σ(x·W_g + b_g)` `[batch, 1 | 2]` (padding positions included, as in the reference); keys use column 0, values
 * the last column. `x` is the attention input `[batch, seq, hidden]`.
 */
export function applyGate(gate: PrefixGate, x: tf.Tensor3D, key: tf.Tensor4D, value: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const g = tf.mean(tf.sigmoid(linear(x, gate.weight as tf.Tensor2D, gate.bias as tf.Tensor1D)), 1) as tf.Tensor2D;
  return [tf.mul(key, gateColumn(g, 0)), tf.mul(value, gateColumn(g, g.shape[1] - 1))];
}
