import * as tf from '@tensorflow/tfjs-core';
import { dropout, getActivation, init, layerNorm, linear, type HostInfo, type ParamCollector, type Rng } from '@adapterkit/core';
import type { BottleneckConfig, InitWeights } from './config';
import type { AdapterProjections, BottleneckLocation, Projection } from './extensions';

/** `nn.LayerNorm` default epsilon (the adapter's own LayerNorms). */
const ADAPTER_LN_EPS = 1e-5;

/** What one bottleneck module (one layer, one location) is built from. */
export interface BottleneckModuleSpec {
  readonly config: BottleneckConfig;
  readonly host: HostInfo;
  readonly params: ParamCollector;
  readonly rng: Rng;
  readonly layer: number;
  readonly location: BottleneckLocation;
  /** `<module path>.adapters.<name>`, e.g. `encoder.layer.0.output.adapters.a`. */
  readonly keyPrefix: string;
  /** Bottleneck width. */
  readonly size: number;
  /** PHM projections from the `projection` extension (when `phmLayer`). */
  readonly projections?: AdapterProjections;
}

/** What one bottleneck module computes: the reference's `(output, down, up)` triple. */
export interface BottleneckOutputs {
  /** o: the adapter output with residual, adapter LayerNorm and gate applied, `[batch, seq, hidden]`. */
  readonly output: tf.Tensor3D;
  /** d = f(W_down · LNb(h′) + b_down), `[batch, seq, bottleneck]`. */
  readonly down: tf.Tensor3D;
  /** u = s · (W_up d + b_up), un-gated and before dropout (what AdapterFusion consumes), `[batch, seq, hidden]`. */
  readonly up: tf.Tensor3D;
}

/**
 * The adapter block of one location: the reference's `Adapter.forward` / `ParallelAdapter.forward`.
 * `x` is the adapter input h′ and `residual` the adapter residual r (ignored when parallel), both
 * `[batch, seq, hidden]`.
 */
/** `rng`: the training forward's random source (dropout), undefined at inference. */
export type BottleneckForward = (x: tf.Tensor3D, residual: tf.Tensor3D, rng: Rng | undefined) => BottleneckOutputs;

/** `trunc_normal_(mean 0, std, a=lo, b=hi)` by rejection. */
function truncatedNormal(rng: Rng, shape: number[], std: number, lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = std * rng.normal();
    while (v < lo || v > hi);
    data[i] = v;
  }
  return tf.tensor(data, shape);
}

/** Initial weight `[in, out]` of a down/up Linear under an init scheme (§3.8 of the reference notes). */
function linearWeight(scheme: InitWeights, role: 'down' | 'up', rng: Rng, inF: number, outF: number): tf.Tensor {
  switch (scheme) {
    case 'bert':
      return init.normal(rng, [inF, outF], 0.02);
    case 'mam_adapter':
      return role === 'down' ? init.kaimingUniform(rng, [inF, outF], inF) : init.zeros([inF, outF]);
    case 'houlsby':
      return truncatedNormal(rng, [inF, outF], 0.01, -0.02, 0.02);
  }
}

/**
 * True while a gradient is being recorded (inside `tf.grad` / `variableGrads`): only then do the adapter's dense
 * layers need core's `linear` with its explicit-transpose gradient (tfjs's fused matMul gradient takes wasm's slow
 * transposed path).
 */
function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * `act(x·W + b)` as one `_FusedMatMul` kernel (bias and ReLU in the GEMM's epilogue) instead of a matMul, a
 * broadcast add and an activation: three kernels fewer per adapter layer in a forward that records no gradient.
 * x `[..., in]`, W `[in, out]`, b `[out]` → `[..., out]`.
 */
function fusedLinear(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D, activation: 'linear' | 'relu'): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const y = tf.fused.matMul({ a: x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D), b: w, bias: b, activation });
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]]);
}

/** A dense layer whose activation the forward may fuse: `fused` computes `act(x·W + b)` for ReLU or no activation. */
interface DenseLayer {
  readonly project: Projection;
  readonly fused: (x: tf.Tensor, activation: 'linear' | 'relu') => tf.Tensor;
}

/** A trainable `nn.Linear` under `key`: weight in memory layout `[in, out]`, bias zero. */
function addLinear(params: ParamCollector, key: string, weight: tf.Tensor, bias: tf.Tensor): DenseLayer {
  let w: tf.Tensor2D;
  try {
    w = params.add(`${key}.weight`, weight, { layout: 'linear' }) as tf.Tensor2D;
  } catch (err) {
    bias.dispose(); // the collector owns `weight` (disposed on failure), not yet `bias`
    throw err;
  }
  const b = params.add(`${key}.bias`, bias) as tf.Tensor1D;
  return { project: (x) => linear(x, w, b), fused: (x, activation) => fusedLinear(x, w, b, activation) };
}

/** A new LayerNorm (ones/zeros) under `key` (plus `aliases` of the same tensors). */
function addLayerNorm(params: ParamCollector, key: string, hidden: number, aliasKey?: string): (x: tf.Tensor) => tf.Tensor {
  const gamma = params.add(`${key}.weight`, init.ones([hidden]), aliasKey ? { aliases: [`${aliasKey}.weight`] } : {}) as tf.Tensor1D;
  const beta = params.add(`${key}.bias`, init.zeros([hidden]), aliasKey ? { aliases: [`${aliasKey}.bias`] } : {}) as tf.Tensor1D;
  return (x) => layerNorm(x, gamma, beta, ADAPTER_LN_EPS);
}

/**
 * Register the parameters of one bottleneck module under the reference's keys and return its forward:
 * `adapter_norm_before.*` (alias `adapter_down.0.*`), `adapter_down.{0|1}.*`, `adapter_up.*`,
 * `adapter_norm_after.*`, `scaling`, `gate.*`.
 */
export function createBottleneckModule(spec: BottleneckModuleSpec): BottleneckForward {
  const { config: c, params, rng, keyPrefix: p, size } = spec;
  const H = spec.host.hiddenSize;
  const act = getActivation(c.nonLinearity);

  const normBefore = c.lnBefore ? addLayerNorm(params, `${p}.adapter_norm_before`, H, `${p}.adapter_down.0`) : undefined;
  const downKey = `${p}.adapter_down.${c.lnBefore ? 1 : 0}`;
  const upKey = `${p}.adapter_up`;
  let down: Projection;
  let up: Projection;
  // plain dense layers (not PHM projections): a forward that records no gradient fuses bias (and ReLU) into the matMul
  let downActFused: ((x: tf.Tensor) => tf.Tensor) | undefined;
  let upFused: ((x: tf.Tensor) => tf.Tensor) | undefined;
  if (spec.projections) {
    const base = { layer: spec.layer, location: spec.location };
    down = spec.projections.create({ ...base, role: 'down', inFeatures: H, outFeatures: size, keyPrefix: downKey });
    up = spec.projections.create({ ...base, role: 'up', inFeatures: size, outFeatures: H, keyPrefix: upKey });
  } else {
    const d = addLinear(params, downKey, linearWeight(c.initWeights, 'down', rng, H, size), init.zeros([size]));
    const u = addLinear(params, upKey, linearWeight(c.initWeights, 'up', rng, size, H), init.zeros([H]));
    down = d.project;
    up = u.project;
    const relu = c.nonLinearity.toLowerCase() === 'relu';
    downActFused = (x) => (relu ? d.fused(x, 'relu') : act(d.fused(x, 'linear')));
    upFused = (x) => u.fused(x, 'linear');
  }

  let scale: (x: tf.Tensor) => tf.Tensor;
  if (typeof c.scaling === 'number') {
    const s = c.scaling;
    scale = s === 1 ? (x) => x : (x) => tf.mul(x, s);
  } else {
    const v = params.add(`${p}.scaling`, init.ones([c.scaling === 'channel' ? H : 1]));
    scale = (x) => tf.mul(x, v);
  }

  const normAfter = c.lnAfter ? addLayerNorm(params, `${p}.adapter_norm_after`, H) : undefined;

  let gate: Projection | undefined;
  if (c.useGating) {
    // bert / mam_adapter: init_bert_weights; houlsby (adapters) leaves PyTorch's default Linear init.
    const torchDefault = c.initWeights === 'houlsby';
    gate = addLinear(
      params,
      `${p}.gate`,
      torchDefault ? init.kaimingUniform(rng, [H, 1], H) : init.normal(rng, [H, 1], 0.02),
      torchDefault ? init.uniform(rng, [1], -1 / Math.sqrt(H), 1 / Math.sqrt(H)) : init.zeros([1]),
    ).project;
  }

  return (x, residual, rng) => {
    const h = normBefore ? normBefore(x) : x;
    const fuse = downActFused !== undefined && !recordingGradients();
    const d = (fuse ? downActFused!(h) : act(down(h))) as tf.Tensor3D;
    const u = scale(fuse ? upFused!(d) : up(d)) as tf.Tensor3D;
    let o: tf.Tensor = rng && c.dropout > 0 ? dropout(u, c.dropout, rng) : u;
    if (gate) {
      // g = mean over the sequence of σ(W_g h′ + b_g): [batch, seq, 1] → [batch, 1, 1]
      o = tf.mul(o, tf.mean(tf.sigmoid(gate(x)), 1, true));
    }
    if (c.isParallel) {
      if (normAfter) o = normAfter(o);
    } else {
      if (c.adapterResidualBeforeLn) o = tf.add(o, residual);
      if (normAfter) o = normAfter(o);
      if (!c.adapterResidualBeforeLn) o = tf.add(o, residual);
    }
    return { output: o as tf.Tensor3D, down: d, up: u };
  };
}
