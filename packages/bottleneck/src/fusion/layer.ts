import * as tf from '@tensorflow/tfjs-core';
import { dropout as dropoutOp, init, linear, type ParamCollector, type Rng } from '@adapterkit/core';
import type { AdapterFusionConfig } from './config';

/** Initial softmax temperature with `temperature: true`, and its decrease per forward call (T₀ / 1000). */
const T_START = 50;
const T_STEP = T_START / 1000;

/** What one fusion layer computes. */
export interface FusionResult {
  /** The fused output c (residual included unless `residualBefore`), `[batch, seq, hidden]`. */
  readonly output: tf.Tensor3D;
  /** Attention probabilities over the fused adapters, `[batch, seq, adapters]`. */
  readonly probs: tf.Tensor3D;
}

/** One AdapterFusion layer (the reference's `BertFusion`) at one location of one layer. */
export interface FusionLayer {
  /**
   * Attention of the query over the adapters' up-projection outputs.
   * @param query - q from the last fused adapter's pre_forward, `[batch, seq, hidden]`.
   * @param ups - each fused adapter's (or nested Stack's last) up-projection output u_i, `[batch, seq, hidden]`.
   * @param residual - the adapter residual r of that pre_forward, `[batch, seq, hidden]`.
   */
  forward(query: tf.Tensor3D, ups: readonly tf.Tensor3D[], residual: tf.Tensor3D, rng: Rng | undefined): FusionResult;
  /** W_v in memory layout `[in, out]`, when the config has a value projection. */
  readonly value: tf.Variable | undefined;
}

/** A `Linear(H, out)` with init_bert_weights (N(0, 0.02), zero bias) under `key`; weight in memory layout `[in, out]`. */
function bertLinear(params: ParamCollector, rng: Rng, key: string, inF: number, outF: number, bias: boolean): { w: tf.Tensor2D; b: tf.Tensor1D | undefined } {
  const w = params.add(`${key}.weight`, init.normal(rng, [inF, outF], 0.02), { layout: 'linear' }) as tf.Tensor2D;
  const b = bias ? (params.add(`${key}.bias`, init.zeros([outF])) as tf.Tensor1D) : undefined;
  return { w, b };
}

/** Identity with every off-diagonal entry 1e-6 (the reference's `value_initialized` W_v; symmetric, so layout-free). */
function nearIdentity(n: number): tf.Tensor2D {
  const data = new Float32Array(n * n).fill(1e-6);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return tf.tensor2d(data, [n, n]);
}

/**
 * Register one fusion layer's parameters under `keyPrefix` (`<module path>.adapter_fusion_layer.<a,b>`) and return
 * it. Parameters: `query.{weight,bias}`, `key.{weight,bias}` (N(0, 0.02), zero bias), `value.weight` (no bias;
 * near-identity when `valueInitialized`), and — when query, key and value are all off — the reference's unused
 * `dense` `Linear(H, 1)` (kept so files match).
 *
 * Forward, as the reference: U = stack(u_i) `[B, T, N, H]`; with `residualBefore` U += r (the reference adds in
 * place to the tensor it passes as both key and value, so keys see it too); Q = W_q q + b_q; K = W_k U + b_k;
 * V = W_v U (`valueBeforeSoftmax`); e = ⟨Q, K_i⟩ (not scaled), dropout on e while training; α = softmax(e / T);
 * c = Σ α_i V_i, then W_v c when the value comes after the softmax; c += r unless `residualBefore`. T is 1, or
 * with `temperature` starts at 50 and drops by 0.05 after every call (training or not) down to 1.
 */
export function createFusionLayer(
  params: ParamCollector,
  rng: Rng,
  keyPrefix: string,
  hidden: number,
  config: AdapterFusionConfig,
  dropout: number,
): FusionLayer {
  const q = config.query ? bertLinear(params, rng, `${keyPrefix}.query`, hidden, hidden, true) : undefined;
  const k = config.key ? bertLinear(params, rng, `${keyPrefix}.key`, hidden, hidden, true) : undefined;
  let value: tf.Variable | undefined;
  if (config.value) {
    const initial = config.valueInitialized ? nearIdentity(hidden) : init.normal(rng, [hidden, hidden], 0.02);
    value = params.add(`${keyPrefix}.value.weight`, initial, { layout: 'linear' });
  }
  if (!config.query && !config.key && !config.value) {
    // Created but never used by the reference (PyTorch's default Linear init); registered so files round-trip.
    const bound = 1 / Math.sqrt(hidden);
    params.add(`${keyPrefix}.dense.weight`, init.uniform(rng, [hidden, 1], -bound, bound), { layout: 'linear' });
    params.add(`${keyPrefix}.dense.bias`, init.uniform(rng, [1], -bound, bound));
  }
  const wv = value as tf.Tensor2D | undefined;
  let T = config.temperature ? T_START : 1;

  return {
    value,
    forward(query, ups, residual, rng) {
      let u = tf.stack(ups as tf.Tensor3D[], 2) as tf.Tensor4D; // [B, T, N, H]
      if (config.residualBefore) u = tf.add(u, tf.expandDims(residual, 2));
      const Q = q ? linear(query, q.w, q.b) : query;
      const K = k ? linear(u, k.w, k.b) : u;
      const V = wv && config.valueBeforeSoftmax ? linear(u, wv) : u;
      let scores = tf.sum(tf.mul(tf.expandDims(Q, 2), K), 3) as tf.Tensor3D; // [B, T, N]
      if (rng && dropout > 0) scores = dropoutOp(scores, dropout, rng);
      const probs = tf.softmax(T === 1 ? scores : tf.div(scores, T)) as tf.Tensor3D;
      if (config.temperature) T = Math.max(T - T_STEP, 1);
      let c = tf.sum(tf.mul(tf.expandDims(probs, 3), V), 2) as tf.Tensor3D;
      if (wv && !config.valueBeforeSoftmax) c = linear(c, wv);
      if (!config.residualBefore) c = tf.add(c, residual);
      return { output: c, probs };
    },
  };
}
