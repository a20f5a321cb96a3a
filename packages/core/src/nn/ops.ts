import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './init';
import { AdapterConfigError } from '../errors';

/** tfjs's custom-gradient function type (not re-exported by tfjs-core's index). */
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/**
 * Numeric building blocks shared by hosts and methods. Gradients of matrix products use tfjs's `transposeA/B`
 * flags: BLAS (`@adapterkit/native`, tfjs-node) and the GPU backends take them for free, and the library's wasm
 * `BatchMatMul` kernel (`@adapterkit/backends`) turns them into one explicit transpose (the stock wasm kernel's
 * transposed path is a scalar loop).
 */

const matMulBothGrads = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, sb, false, true), tf.matMul(sa, dy as tf.Tensor2D, true, false)];
    },
  };
}) as unknown as CustomGradientFunc);

function isFrozen(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && !t.trainable;
}

/**
 * 2-D product `a·b` (`[m, k]·[k, n] → [m, n]`) with gradients `dy·bᵀ` and `aᵀ·dy` (transpose flags, no copies). A frozen (non-trainable
 * variable) `b` is captured by closure, so no gradient is ever computed for it.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (isFrozen(b)) {
    const frozen = tf.customGrad(((x: tf.Tensor) => ({
      value: tf.matMul(x as tf.Tensor2D, b),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, b, false, true),
    })) as unknown as CustomGradientFunc);
    return frozen(a) as tf.Tensor2D;
  }
  return matMulBothGrads(a, b) as tf.Tensor2D;
}

/**
 * Dense layer `x·W + b` over the last axis: x `[..., in]`, W `[in, out]`, b `[out]` → `[..., out]`.
 * (PyTorch stores Linear weights as `[out, in]`; parameters are transposed at the file boundary.)
 */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, b?: tf.Tensor1D): T {
  const inDim = x.shape[x.rank - 1]!;
  const outDim = w.shape[1];
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as unknown as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = matMul2d(x2, w);
  if (b) y = tf.add(y, b);
  return (x.rank === 2 ? y : tf.reshape(y, [...lead, outDim])) as T;
}

/** LayerNorm over the last axis (biased variance, as PyTorch): `[..., H]` → `[..., H]`. */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axis, true);
  const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, gamma), beta) as T;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** An elementwise activation. */
export type Activation = (x: tf.Tensor) => tf.Tensor;

// tanh approximation (HF "gelu_new", GPT-2; also "gelu_pytorch_tanh", "gelu_fast")
const geluTanh: Activation = (x) =>
  tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));

const ACTIVATIONS: Readonly<Record<string, Activation>> = Object.freeze({
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  // exact GELU (PyTorch nn.GELU / HF "gelu")
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
  gelu_new: geluTanh,
  quick_gelu: (x) => tf.mul(x, tf.sigmoid(tf.mul(1.702, x))),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  leakyrelu: (x) => tf.leakyRelu(x, 0.01),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  linear: (x) => x,
  identity: (x) => x,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
} satisfies Record<string, Activation>);

/** Names accepted by {@link getActivation} (HF `get_activation` spellings, case-insensitive). */
export const ACTIVATION_NAMES: readonly string[] = Object.keys(ACTIVATIONS);

/** Look up an activation by its HF/AdapterHub name (`relu`, `gelu`, `gelu_new`, `swish`, `tanh`, ...). */
export function getActivation(name: string): Activation {
  const fn = ACTIVATIONS[name.toLowerCase()];
  if (!fn) {
    throw new AdapterConfigError('UNKNOWN_ACTIVATION', `Unknown non_linearity '${name}' (known: ${ACTIVATION_NAMES.join(', ')})`);
  }
  return fn;
}

/** Large negative number added to masked attention scores (any large value gives the reference's numbers). */
export const MASK_NEGATIVE = -1e9;

/** Turn a `[batch, seq]` 0/1 attention mask into an additive `[batch, 1, 1, seq]` mask. */
export function additiveMask(mask: tf.Tensor2D): tf.Tensor4D {
  const [b, s] = mask.shape;
  return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASK_NEGATIVE), [b, 1, 1, s]);
}

/**
 * Inverted dropout, as `tf.dropout(x, rate)`: every element is zeroed with probability `rate` and the others are
 * scaled by `1 / (1 − rate)`. The mask is drawn in one pass of a fast seeded generator (mulberry32) and applied
 * with one multiply, where `tf.dropout` draws through seedrandom's alea and runs four kernels: on wasm this is
 * about a tenth of the cost, ≈ 10 % of a BERT training step. The mask's seed is drawn from `rng`, the random
 * source of the forward pass (`forward({ training: true, seed })`), so a training forward is reproducible for a seed.
 *
 * @param x any shape, float32
 * @param rate in [0, 1); 0 returns `x` itself
 * @param rng the forward's random source (one draw per call)
 * @throws RangeError for a rate outside [0, 1)
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng): T {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return x;
  const mask = dropoutMask(x.size, rate, Math.floor(rng.next() * 2 ** 32));
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, 'float32'))) as T;
}

/** `n` values, each `1 / (1 − rate)` with probability `1 − rate`, else 0 (mulberry32 from `seed`). */
function dropoutMask(n: number, rate: number, seed: number): Float32Array {
  const mask = new Float32Array(n);
  const keep = 1 / (1 - rate);
  const threshold = rate * 4294967296; // keep when the uint32 draw ≥ rate · 2³²
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    mask[i] = (t ^ (t >>> 14)) >>> 0 >= threshold ? keep : 0;
  }
  return mask;
}
