import type * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, init, linear } from '@adapterkit/core';
import {
  bottleneckSize,
  pyFloorDiv,
  reductionFactorAt,
  type AdapterProjections,
  type BottleneckLocation,
  type Projection,
  type ProjectionAdapterContext,
  type ProjectionProvider,
  type ProjectionSpec,
} from '@adapterkit/bottleneck';
import { validatePhmConfig } from './config';
import { phmWeight } from './kron';
import { addRule, addWeight, phmOptions, type PhmOptions, type TensorSource } from './params';

type Role = ProjectionSpec['role'];
type Sizes = Pick<ProjectionSpec, 'layer' | 'location' | 'role' | 'inFeatures' | 'outFeatures'>;

/** `32 (= hidden)` or `1 (= hidden 32 // reduction_factor 32)`: where a feature count comes from. */
function describeFeatures(ctx: ProjectionAdapterContext, layer: number, features: number, isBottleneck: boolean): string {
  if (!isBottleneck) return `${features} (= hidden)`;
  const H = ctx.host.hiddenSize;
  const rf = reductionFactorAt(ctx.config.reductionFactor, layer);
  const division = `hidden ${H} // reduction_factor ${rf}`;
  return `${features} (= ${pyFloorDiv(H, rf) < 1 ? `max(1, ${division})` : division})`;
}

/** The reference's PHMLayer assertion: in and out features divisible by `phm_dim`, with the numbers in the error. */
function checkDivisible(ctx: ProjectionAdapterContext, n: number, s: Sizes): void {
  const sides = [
    ['in_features', s.inFeatures, s.role === 'up'],
    ['out_features', s.outFeatures, s.role === 'down'],
  ] as const;
  for (const [field, features, isBottleneck] of sides) {
    if (features % n === 0) continue;
    throw new AdapterConfigError(
      'PHM_NOT_DIVISIBLE',
      `compacter: ${field} ${describeFeatures(ctx, s.layer, features, isBottleneck)} is not divisible by phm_dim ${n} ` +
        `(adapter '${ctx.name}', layer ${s.layer} ${s.location}, ${s.role}-projection); choose a reduction_factor or phm_dim that divides it`,
    );
  }
}

/** Bottleneck size and first layer of every module of the adapter; shared W needs one size for all of them. */
function commonBottleneck(ctx: ProjectionAdapterContext): { size: number; layer: number; location: BottleneckLocation } | undefined {
  const { config, host } = ctx;
  const location: BottleneckLocation | undefined = config.mhAdapter ? 'mh_adapter' : config.outputAdapter ? 'output_adapter' : undefined;
  if (!location) return undefined;
  const firstLayer = new Map<number, number>();
  for (let layer = 0; layer < host.numLayers; layer++) {
    if (config.leaveOut.includes(layer)) continue;
    const size = bottleneckSize(host.hiddenSize, config.reductionFactor, layer);
    if (!firstLayer.has(size)) firstLayer.set(size, layer);
  }
  if (firstLayer.size > 1) {
    throw new AdapterConfigError(
      'BAD_FIELD_VALUE',
      `compacter: shared_W_phm=True shares W across layers, so every layer needs the same bottleneck size; reduction_factor ` +
        `${JSON.stringify(config.reductionFactor)} gives ${[...firstLayer].map(([size, layer]) => `${size} at layer ${layer}`).join(', ')}`,
    );
  }
  const [entry] = firstLayer;
  return entry && { size: entry[0], layer: entry[1], location };
}

/** Parameters shared by every PHM projection of one adapter (`shared_parameters.<name>.*`). */
interface SharedPhm {
  readonly rule?: TensorSource;
  /** Shared W per role, with the sizes it was made for. */
  readonly W?: Readonly<Record<Role, { readonly source: TensorSource; readonly inFeatures: number; readonly outFeatures: number }>>;
}

/**
 * Register the shared parameters, as the reference's `init_shared_parameters`: shared W (`W_down[_left|_right]`,
 * `W_up[_left|_right]`, hidden ↔ hidden // rf) and the shared rule (`phm_rule` or `phm_rule_left/right`). All are
 * `optional` in files: adapter-transformers 3.2.1 does not save them. Unlike the reference (NameError),
 * non-factorised shared W works.
 */
function createShared(ctx: ProjectionAdapterContext, o: PhmOptions): SharedPhm {
  const { params, rng, sharedKeyPrefix: s } = ctx;
  let W: SharedPhm['W'];
  const common = o.sharedW ? commonBottleneck(ctx) : undefined;
  if (common) {
    const H = ctx.host.hiddenSize;
    const d = common.size;
    const make = (role: Role, inFeatures: number, outFeatures: number) => {
      checkDivisible(ctx, o.n, { layer: common.layer, location: common.location, role, inFeatures, outFeatures });
      const keys = { full: `${s}.W_${role}`, left: `${s}.W_${role}_left`, right: `${s}.W_${role}_right` };
      return { source: addWeight(params, rng, keys, o, inFeatures, outFeatures, true), inFeatures, outFeatures };
    };
    W = { down: make('down', H, d), up: make('up', d, H) };
  }
  const rule = o.sharedRule ? addRule(params, rng, s, o, true) : undefined;
  return { ...(W ? { W } : {}), ...(rule ? { rule } : {}) };
}

/** One PHM projection `y = x·H + b`, `H = Σ_i S_i ⊗ W_i` `[in, out]`, with its per-layer parameters under `spec.keyPrefix`. */
function createProjection(ctx: ProjectionAdapterContext, o: PhmOptions, shared: SharedPhm, spec: ProjectionSpec): Projection {
  const { params, rng } = ctx;
  const { keyPrefix: p, inFeatures, outFeatures } = spec;
  checkDivisible(ctx, o.n, spec);
  let W: TensorSource;
  if (shared.W) {
    const sw = shared.W[spec.role];
    if (sw.inFeatures !== inFeatures || sw.outFeatures !== outFeatures) {
      throw new AdapterConfigError(
        'BAD_FIELD_VALUE',
        `compacter: shared W_${spec.role} maps ${sw.inFeatures} → ${sw.outFeatures}, but layer ${spec.layer} ${spec.location} needs ${inFeatures} → ${outFeatures}`,
      );
    }
    W = sw.source;
  } else {
    W = addWeight(params, rng, { full: `${p}.W`, left: `${p}.W_left`, right: `${p}.W_right` }, o, inFeatures, outFeatures, false);
  }
  const rule = shared.rule ?? addRule(params, rng, p, o, false);
  const b = o.bias ? (params.add(`${p}.b`, init.zeros([outFeatures])) as tf.Tensor as tf.Tensor1D) : undefined;
  return (x) => linear(x, phmWeight(rule(), W()), b);
}

/**
 * The `projection` provider: PHM layers (adapter-transformers 3.2.1 `PHMLayer`) as the down/up projections of
 * bottleneck adapters with `phm_layer=True`.
 */
export const phmProvider: ProjectionProvider = {
  forAdapter(ctx: ProjectionAdapterContext): AdapterProjections {
    validatePhmConfig(ctx.config);
    const o = phmOptions(ctx.config);
    const shared = createShared(ctx, o);
    return { create: (spec) => createProjection(ctx, o, shared, spec) };
  },
};
