import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterConfigError,
  CapabilityError,
  defineAdapterMethod,
  dropout,
  init,
  linear,
  type AdapterConfigBase,
  type CreateContext,
  type FieldSpec,
  type Handler,
  type HostInfo,
  type MethodInstance,
  type ProjectionPayload,
  Rng,
} from '@adapterkit/core';
import { LORA_PACKAGE } from './method';
import { PEFT_IA3_SITES, peftIa3ModuleSite, type PeftIa3Site } from './peft-ia3';
import { denseDims } from './sites';

/** Method id of VeRA (our `architecture`; PEFT files are read and written by import/export). */
export const VERA = 'vera';

/**
 * Config of a VeRA adapter (Kopiczko et al. 2024, PEFT 0.14 `VeraConfig`): per targeted dense layer
 * `ΔW = diag(λ_b)·B[:out]·diag(λ_d)·A[:, :in]`, with one pair of **frozen random** projections `A` `[r, max_in]`,
 * `B` `[max_out, r]` shared by all layers and only the scaling vectors `λ_d` `[r]`, `λ_b` `[out]` trained.
 */
export interface VeraConfig extends AdapterConfigBase {
  readonly method: typeof VERA;
  /** Targeted dense layers (PEFT `target_modules`), as `peft_ia3`'s sites. Default `['query', 'value']`. */
  readonly targetSites: readonly PeftIa3Site[];
  /** Rank of the shared projections. Default 256 (PEFT's default). */
  readonly r: number;
  /** Seed of the shared projections. Default 0. */
  readonly projectionPrngKey: number;
  /**
   * Save the shared projections with the adapter. Default true; false is refused: PEFT then regenerates them with
   * torch's PRNG, which this library cannot reproduce, so such files would not be portable.
   */
  readonly saveProjection: boolean;
  /** Initial value of every `λ_d` entry. Default 0.1. */
  readonly dInitial: number;
  /** Dropout on the layer input of the update (training only). Default 0.0. */
  readonly veraDropout: number;
}

/** Field specs. */
export const VERA_FIELDS: { readonly [K in Exclude<keyof VeraConfig, 'method'>]-?: FieldSpec } = {
  targetSites: { type: 'list', doc: `adapted dense layers: ${PEFT_IA3_SITES.join(', ')}` },
  r: { type: 'int', max: 16384, doc: 'rank of the shared projections' },
  projectionPrngKey: { type: 'int', doc: 'seed of the shared projections' },
  saveProjection: { type: 'bool', doc: 'save the shared projections (must be True)' },
  dInitial: { type: 'float', doc: 'initial value of lambda_d' },
  veraDropout: { type: 'float', doc: 'dropout on the update input' },
};

/** Defaults of PEFT 0.14 `VeraConfig` (targets: BERT's query and value). */
export const VERA_DEFAULTS: Omit<VeraConfig, 'method'> = {
  targetSites: ['query', 'value'],
  r: 256,
  projectionPrngKey: 0,
  saveProjection: true,
  dInitial: 0.1,
  veraDropout: 0.0,
};

/** Check a resolved config; throws AdapterConfigError naming the field at fault. */
export function validateVeraConfig(config: VeraConfig, host?: HostInfo): void {
  const fail = (field: string, message: string): never => {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `vera: '${field}' ${message}`);
  };
  if (config.targetSites.length === 0) fail('target_sites', 'must name at least one dense layer');
  for (const s of config.targetSites as readonly unknown[]) {
    if (typeof s !== 'string' || !(PEFT_IA3_SITES as readonly string[]).includes(s)) fail('target_sites', `has unknown site ${JSON.stringify(s)}; sites: ${PEFT_IA3_SITES.join(', ')}`);
    if (host && host.modulePath(peftIa3ModuleSite(s as PeftIa3Site), 0) === undefined) fail('target_sites', `has '${String(s)}', which the ${host.modelType} host does not have`);
  }
  if (new Set(config.targetSites).size !== config.targetSites.length) fail('target_sites', 'lists a site twice');
  if (!Number.isInteger(config.r) || config.r < 1) fail('r', `must be a positive integer, got ${config.r}`);
  if (!Number.isInteger(config.projectionPrngKey)) fail('projection_prng_key', `must be an integer, got ${config.projectionPrngKey}`);
  if (!config.saveProjection) fail('save_projection', "must be True: PEFT regenerates unsaved projections with torch's PRNG, which cannot be reproduced here");
  if (!(config.veraDropout >= 0 && config.veraDropout < 1)) fail('vera_dropout', `must be in [0, 1), got ${config.veraDropout}`);
}

/** `[max_in, max_out]` over the targeted layers (the shapes of PEFT's shared `vera_A` / `vera_B`). */
export function veraProjectionDims(config: VeraConfig, host: HostInfo, parameters?: ReadonlyMap<string, { readonly shape: readonly number[] }>): { maxIn: number; maxOut: number } {
  const dims = config.targetSites.flatMap((s) => Array.from({ length: host.numLayers }, (_, l) => denseDims(host, peftIa3ModuleSite(s), l, parameters)));
  return { maxIn: Math.max(...dims.map((d) => d.inDim)), maxOut: Math.max(...dims.map((d) => d.outDim)) };
}

/** Keys of the shared projections of adapter `name`. */
export const veraSharedKeys = (name: string): { A: string; B: string } => ({ A: `vera_A.${name}`, B: `vera_B.${name}` });

interface VeraModule {
  readonly inDim: number;
  readonly outDim: number;
  readonly lambdaB: tf.Variable;
  readonly lambdaD: tf.Variable;
}

function create(ctx: CreateContext<VeraConfig>): MethodInstance {
  const { config, host, name, params } = ctx;
  const { maxIn, maxOut } = veraProjectionDims(config, host, ctx.baseParameters);
  const r = config.r;
  // PEFT: kaiming-uniform(a=√5)-style bound √6/√fan_in from a generator seeded with projection_prng_key (A first).
  // The stream is ours, not torch's: the projections are always saved.
  const rng = new Rng(config.projectionPrngKey);
  const keys = veraSharedKeys(name);
  const A = params.add(keys.A, init.uniform(rng, [r, maxIn], -Math.sqrt(6 / maxIn), Math.sqrt(6 / maxIn)), { trainable: false }) as tf.Tensor as tf.Tensor2D;
  const B = params.add(keys.B, init.uniform(rng, [maxOut, r], -Math.sqrt(6 / r), Math.sqrt(6 / r)), { trainable: false }) as tf.Tensor as tf.Tensor2D;
  const byLayer: Array<Map<string, VeraModule>> = [];
  for (let layer = 0; layer < host.numLayers; layer++) {
    const mods = new Map<string, VeraModule>();
    for (const site of config.targetSites) {
      const moduleSite = peftIa3ModuleSite(site);
      const path = host.modulePath(moduleSite, layer);
      if (path === undefined) throw new CapabilityError('MISSING_MODULE', `vera needs module site '${moduleSite}', which the ${host.modelType} host does not have`);
      const { inDim, outDim } = denseDims(host, moduleSite, layer, ctx.baseParameters);
      const lambdaB = params.add(`${path}.vera_lambda_b.${name}`, init.zeros([outDim]));
      const lambdaD = params.add(`${path}.vera_lambda_d.${name}`, tf.fill([r], config.dInitial));
      mods.set(site, { inDim, outDim, lambdaB, lambdaD });
    }
    byLayer.push(mods);
  }
  const handler = (layer: number) => {
    const mods = byLayer[layer];
    if (!mods || mods.size === 0) return undefined;
    return <S extends string>(p: ProjectionPayload<S>, next: (p: ProjectionPayload<S>) => tf.Tensor3D, hctx: { forward: { training: boolean; rng?: Rng } }): tf.Tensor3D => {
      const m = mods.get(p.site);
      if (!m) return next(p);
      // PEFT VeRA Linear.forward: y + λ_b ⊙ (B[:out] · (λ_d ⊙ (A[:, :in] · drop(x))))
      const x = hctx.forward.rng && config.veraDropout > 0 ? dropout(p.x, config.veraDropout, hctx.forward.rng) : p.x;
      const a = m.inDim === maxIn ? A : (tf.slice(A, [0, 0], [r, m.inDim]) as tf.Tensor2D);
      const b = m.outDim === maxOut ? B : (tf.slice(B, [0, 0], [m.outDim, r]) as tf.Tensor2D);
      const h = tf.mul(linear(x, tf.transpose(a) as tf.Tensor2D), m.lambdaD) as tf.Tensor3D;
      const delta = tf.mul(linear(h, tf.transpose(b) as tf.Tensor2D), m.lambdaB);
      return next({ ...p, y: tf.add(p.y, delta) as tf.Tensor3D });
    };
  };
  return {
    handlers: {
      'attention.projection': handler as (layer: number) => Handler<'attention.projection'> | undefined,
      'attention.outputProjection': handler as (layer: number) => Handler<'attention.outputProjection'> | undefined,
      'ffn.intermediate': handler as (layer: number) => Handler<'ffn.intermediate'> | undefined,
      'ffn.outputProjection': handler as (layer: number) => Handler<'ffn.outputProjection'> | undefined,
    },
  };
}

/**
 * VeRA as PEFT 0.14 defines it: frozen shared random projections `vera_A.<name>` `[r, max_in]` and `vera_B.<name>`
 * `[max_out, r]` (always saved), and per targeted layer the trained vectors `<path>.vera_lambda_d.<name>` `[r]`
 * (initialised to `d_initial`) and `<path>.vera_lambda_b.<name>` `[out]` (zeros, so a new adapter is the identity).
 * No alpha/r scaling. PEFT files: `importPeftAdapter` / `exportPeftAdapter`.
 */
export const vera = defineAdapterMethod<VeraConfig>({
  name: VERA,
  architecture: VERA,
  fields: VERA_FIELDS,
  defaults: VERA_DEFAULTS,
  validate: validateVeraConfig,
  hooks: ['attention.projection', 'attention.outputProjection', 'ffn.intermediate', 'ffn.outputProjection'],
  create,
  meta: LORA_PACKAGE,
  description: 'VeRA: shared frozen random projections with trained per-layer scaling vectors',
});
