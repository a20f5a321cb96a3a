import type * as tf from '@tensorflow/tfjs-core';
import { init, type ParamCollector, type Rng } from '@adapterkit/core';
import type { BottleneckConfig } from '@adapterkit/bottleneck';
import { factorProduct } from './kron';

/** Produces a `[n, ·, ·]` tensor from registered parameters; called inside the model's forward `tf.tidy`. */
export type TensorSource = () => tf.Tensor;

/** The PHM fields of a bottleneck config, with Python truthiness applied to the nullable ones. */
export interface PhmOptions {
  /** n = `phm_dim`. */
  readonly n: number;
  /** k = `phm_rank` (factorised W only). */
  readonly rank: number;
  readonly factorizedW: boolean;
  readonly sharedW: boolean;
  readonly sharedRule: boolean;
  readonly factorizedRule: boolean;
  readonly cInit: 'normal' | 'uniform';
  /** Std of the shared rule init when `cInit` is `normal`. */
  readonly initRange: number;
  readonly learnRule: boolean;
  readonly bias: boolean;
}

/** Normalise the PHM fields of a (validated) config. */
export function phmOptions(c: BottleneckConfig): PhmOptions {
  return {
    n: c.phmDim,
    rank: c.phmRank ?? 1,
    factorizedW: c.factorizedPhmW === true,
    sharedW: c.sharedWPhm === true,
    sharedRule: c.sharedPhmRule === true,
    factorizedRule: c.factorizedPhmRule === true,
    cInit: c.phmCInit ?? 'normal',
    initRange: c.phmInitRange ?? 0,
    learnRule: c.learnPhm !== false,
    bias: c.phmBias === true,
  };
}

/**
 * Register rule matrices under `prefix` and return the rule `[n, n, n]`: `phm_rule` `[n, n, n]`, or
 * `phm_rule_left` `[n, n, 1]` and `phm_rule_right` `[n, 1, n]` (rule = left @ right) when factorised.
 * Init as the reference: shared N(0, phm_init_range) or U(-1, 1); per-layer N(0, 0.01) or U(-0.01, 0.01).
 * Shared rules are `optional` (adapter-transformers 3.2.1 does not save them).
 */
export function addRule(params: ParamCollector, rng: Rng, prefix: string, o: PhmOptions, shared: boolean): TensorSource {
  const { n } = o;
  const sample = (shape: number[]): tf.Tensor => {
    if (o.cInit === 'normal') return init.normal(rng, shape, shared ? o.initRange : 0.01);
    const bound = shared ? 1 : 0.01;
    return init.uniform(rng, shape, -bound, bound);
  };
  const opts = { optional: shared, trainable: o.learnRule };
  if (o.factorizedRule) {
    const left = params.add(`${prefix}.phm_rule_left`, sample([n, n, 1]), opts);
    const right = params.add(`${prefix}.phm_rule_right`, sample([n, 1, n]), opts);
    return () => factorProduct(left, right);
  }
  const rule = params.add(`${prefix}.phm_rule`, sample([n, n, n]), opts);
  return () => rule;
}

/** `xavier_normal_` on every slice `[i]` of an `[n, r, c]` tensor (fan_in c, fan_out r). */
function xavierSlices(rng: Rng, shape: [number, number, number]): tf.Tensor {
  return init.xavierNormal(rng, shape, shape[2], shape[1]);
}

/** Keys of the W parameters: full `[n, in/n, out/n]` or factorised left `[n, in/n, k]` / right `[n, k, out/n]`. */
export interface WeightKeys {
  readonly full: string;
  readonly left: string;
  readonly right: string;
}

/**
 * Register the W slices of a `inFeatures → outFeatures` PHM map and return W `[n, in/n, out/n]` (left @ right
 * when factorised). Init: `xavier_normal_` per slice, always: the reference's `init_W` takes the xavier branch
 * for every non-empty `hypercomplex_nonlinearity`, so its other branches are dead code.
 */
export function addWeight(
  params: ParamCollector,
  rng: Rng,
  keys: WeightKeys,
  o: PhmOptions,
  inFeatures: number,
  outFeatures: number,
  optional: boolean,
): TensorSource {
  const { n, rank } = o;
  const a = inFeatures / n;
  const b = outFeatures / n;
  if (o.factorizedW) {
    const left = params.add(keys.left, xavierSlices(rng, [n, a, rank]), { optional });
    const right = params.add(keys.right, xavierSlices(rng, [n, rank, b]), { optional });
    return () => factorProduct(left, right);
  }
  const W = params.add(keys.full, xavierSlices(rng, [n, a, b]), { optional });
  return () => W;
}
