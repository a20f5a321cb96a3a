import * as tf from '@tensorflow/tfjs-core';
import packageJson from '../package.json';
import {
  CapabilityError,
  defineAdapterMethod,
  dropout,
  getActivation,
  init,
  linear,
  type CreateContext,
  type Handler,
  type MethodInstance,
  type Rng,
} from '@adapterkit/core';
import { REFT, REFT_DEFAULTS, REFT_FIELDS, REFT_PRESETS, reftLayers, validateReftConfig, type ReftConfig } from './config';
import { householderWeight } from './householder';
import { reftPositions, selector, type ReftPositions } from './positions';

/** Package version written into the method's metadata. */

/** One intervention unit (the reference's `ReftUnit`). */
export interface ReftUnit {
  /** Reference key prefix, `<layer>.reft_layer.refts.<name>.units.<u>`. */
  readonly key: string;
  /** Memory `[hidden, r]` (`learned_source.weight`, file `[r, hidden]`). */
  readonly sourceWeight: tf.Variable;
  /** `[r]` */
  readonly sourceBias: tf.Variable;
  /** The projection R `[r, hidden]` as the forward uses it (orthonormal rows for LoReFT). */
  projection(): tf.Tensor2D;
}

function createUnit(ctx: CreateContext<ReftConfig>, key: string): ReftUnit {
  const { config, host, params, rng } = ctx;
  const H = host.hiddenSize;
  const r = config.r;
  const sourceWeight = params.add(`${key}.learned_source.weight`, init.kaimingUniform(rng, [H, r], H), { layout: 'linear' });
  const sourceBias = params.add(`${key}.learned_source.bias`, init.kaimingUniform(rng, [r], H));
  if (!config.orthogonality) {
    const weight = params.add(`${key}.projection.weight`, init.kaimingUniform(rng, [r, H], H)) as tf.Tensor as tf.Tensor2D;
    return { key, sourceWeight, sourceBias, projection: () => weight };
  }
  // torch's orthogonal parametrisation with trivialization: `original` starts as −I (r × hidden) and `base` is an
  // orthogonal matrix, so R = −base[:, :r]ᵀ starts with orthonormal rows. `base` is a buffer: saved, never trained.
  const base = params.add(
    `${key}.projection.parametrizations.weight.0.base`,
    tf.tidy(() => tf.linalg.qr(init.normal(rng, [H, H], 1) as tf.Tensor2D)[0]),
    { trainable: false },
  ) as tf.Tensor as tf.Tensor2D;
  const original = params.add(
    `${key}.projection.parametrizations.weight.original`,
    tf.tidy(() => tf.neg(tf.eye(r, H))),
  ) as tf.Tensor as tf.Tensor2D;
  return { key, sourceWeight, sourceBias, projection: () => householderWeight(original, base) };
}

/**
 * One unit on states `x` `[batch, n, hidden]`: `x + (act(x·Wᵀ + b) − x·Rᵀ)·R` (DiReFT drops `− x·Rᵀ`), then dropout
 * (training only) on the whole edited state, as the reference's `ReftUnit.forward`.
 */
export function applyUnit(unit: ReftUnit, x: tf.Tensor3D, config: ReftConfig, rng: Rng | undefined): tf.Tensor3D {
  const R = unit.projection();
  let source = linear(x, unit.sourceWeight as tf.Tensor as tf.Tensor2D, unit.sourceBias as tf.Tensor as tf.Tensor1D);
  if (config.nonLinearity !== null) source = getActivation(config.nonLinearity)(source) as tf.Tensor3D;
  if (config.subtractProjection) source = tf.sub(source, linear(x, tf.transpose(R) as tf.Tensor2D));
  const out = tf.add(x, linear(source, R)) as tf.Tensor3D;
  return rng && config.dropout > 0 ? dropout(out, config.dropout, rng) : out;
}

/** Replace the rows of `h` selected by `G` `[B, n, S]` with `values` `[B, n, H]`. */
function scatter(h: tf.Tensor3D, G: tf.Tensor3D, values: tf.Tensor3D): tf.Tensor3D {
  const hit = tf.expandDims(tf.sum(G, 1), 2); // [B, S, 1]
  return tf.add(tf.mul(h, tf.sub(1, hit)), tf.matMul(G, values, true, false)) as tf.Tensor3D;
}

/** A live ReFT adapter: its units per edited layer. */
export interface ReftInstance extends MethodInstance<ReftPositions> {
  /** Layer → its units (one when `tied_weights`, else prefix unit 0 and suffix unit 1). */
  readonly units: ReadonlyMap<number, readonly ReftUnit[]>;
}

function create(ctx: CreateContext<ReftConfig>): ReftInstance {
  const { config, host, name } = ctx;
  const units = new Map<number, ReftUnit[]>();
  for (const layer of reftLayers(config, host.numLayers)) {
    const path = host.modulePath('layer', layer);
    if (path === undefined) throw new CapabilityError('MISSING_MODULE', `ReFT needs module site 'layer' in layer ${layer}, which the ${host.modelType} host does not have`);
    const n = config.tiedWeights ? 1 : 2;
    units.set(layer, Array.from({ length: n }, (_, u) => createUnit(ctx, `${path}.reft_layer.refts.${name}.units.${u}`)));
  }
  const P = config.prefixPositions;
  const S = config.suffixPositions;
  const handler: Handler<'layer.output', ReftPositions> = (h, next, hctx) => {
    const own = units.get(hctx.layer);
    // Only the first adapter of the active setup intervenes (ReftLayer uses setup.first()).
    if (!own || (hctx.forward.firstAdapter !== undefined && hctx.forward.firstAdapter !== hctx.adapter)) return next(h);
    const [rows, seq] = h.shape;
    const training = hctx.forward.rng;
    const Gp = P > 0 ? selector(hctx.state.prefix, rows, seq, 'prefix') : undefined;
    const Gs = S > 0 ? selector(hctx.state.suffix, rows, seq, 'suffix') : undefined;
    const prefix = Gp ? (tf.matMul(Gp, h) as tf.Tensor3D) : undefined;
    const suffix = Gs ? (tf.matMul(Gs, h) as tf.Tensor3D) : undefined;
    let newPrefix: tf.Tensor3D | undefined;
    let newSuffix: tf.Tensor3D | undefined;
    if (config.tiedWeights) {
      const both = applyUnit(own[0]!, tf.concat([prefix, suffix].filter((t): t is tf.Tensor3D => t !== undefined), 1), config, training);
      if (prefix) newPrefix = tf.slice(both, [0, 0, 0], [rows, P, -1]);
      if (suffix) newSuffix = tf.slice(both, [0, P, 0], [rows, S, -1]);
    } else {
      if (prefix) newPrefix = applyUnit(own[0]!, prefix, config, training);
      if (suffix) newSuffix = applyUnit(own[1]!, suffix, config, training);
    }
    // As the reference's scatter: prefix first, then suffix (which wins where the two overlap).
    let out = h;
    if (Gp && newPrefix) out = scatter(out, Gp, newPrefix);
    if (Gs && newSuffix) out = scatter(out, Gs, newSuffix);
    return next(out);
  };
  return {
    units,
    handlers: { 'layer.output': (layer) => (units.has(layer) ? handler : undefined) },
    beginForward: (info) => reftPositions(info, P, S),
  };
}

/** Whether a method instance is a ReFT instance. */
export function isReftInstance(instance: unknown): instance is ReftInstance {
  return (instance as Partial<ReftInstance> | undefined)?.units instanceof Map;
}

/**
 * ReFT (Wu et al. 2024) as in `adapters` 1.1: LoReFT (`loreft`, orthonormal R through torch's householder
 * parametrisation), NoReFT (`noreft`, plain R) and DiReFT (`direft`, no `− R h`). On every layer in `layers` the
 * layer output `h` (hook point `layer.output`) is edited at the first `prefix_positions` and the last
 * `suffix_positions` non-padding positions, taken from the attention mask: `h ← h + (act(W h + b) − R h) R`.
 * Keys: `<layer>.reft_layer.refts.<name>.units.<u>.{learned_source.{weight,bias}, projection.weight |
 * projection.parametrizations.weight.{original, 0.base}}`.
 */
export const reft = defineAdapterMethod<ReftConfig, ReftPositions>({
  name: REFT,
  architecture: REFT,
  fields: REFT_FIELDS,
  defaults: REFT_DEFAULTS,
  presets: REFT_PRESETS,
  validate: validateReftConfig,
  hooks: ['layer.output'],
  create,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
  description: 'ReFT: low-rank interventions on layer outputs at prefix/suffix positions (LoReFT, NoReFT, DiReFT)',
});
