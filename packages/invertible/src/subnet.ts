import * as tf from '@tensorflow/tfjs-core';
import { init, linear, type Activation, type ParamCollector, type Rng } from '@adapterkit/core';

/** A coupling subnet: `[..., inFeatures]` → `[..., outFeatures]`. Called inside the model's forward `tf.tidy`. */
export type Subnet = (x: tf.Tensor) => tf.Tensor;

/** What {@link createSubnet} builds: the reference's `nn.Sequential(Linear(in → mid), activation, Linear(mid → out))`. */
export interface SubnetSpec {
  readonly params: ParamCollector;
  readonly rng: Rng;
  /** Key prefix of the `nn.Sequential`, e.g. `invertible_adapters.lang.F`; its Linears are `.0` and `.2`. */
  readonly key: string;
  readonly inFeatures: number;
  readonly midFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
}

/** One trainable `nn.Linear` under `key`: weight N(0, 0.02) in memory layout `[in, out]`, bias 0 (`init_bert_weights`). */
function addLinear(params: ParamCollector, rng: Rng, key: string, inF: number, outF: number): (x: tf.Tensor) => tf.Tensor {
  const w = params.add(`${key}.weight`, init.normal(rng, [inF, outF], 0.02), { layout: 'linear' }) as tf.Tensor as tf.Tensor2D;
  const b = params.add(`${key}.bias`, init.zeros([outF])) as tf.Tensor as tf.Tensor1D;
  return (x) => linear(x, w, b);
}

/**
 * Register a subnet's parameters under the reference's keys (`<key>.0.{weight,bias}` `[mid, in]`/`[mid]`,
 * `<key>.2.{weight,bias}` `[out, mid]`/`[out]` in files) and return `x ↦ L2(f(L0(x)))`.
 */
export function createSubnet(spec: SubnetSpec): Subnet {
  const { params, rng, key, activation } = spec;
  const l0 = addLinear(params, rng, `${key}.0`, spec.inFeatures, spec.midFeatures);
  const l2 = addLinear(params, rng, `${key}.2`, spec.midFeatures, spec.outFeatures);
  return (x) => l2(activation(l0(x)));
}
