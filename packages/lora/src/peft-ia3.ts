import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterConfigError,
  CapabilityError,
  defineAdapterMethod,
  init,
  linear,
  type AdapterConfigBase,
  type CreateContext,
  type FieldSpec,
  type Handler,
  type HostInfo,
  type HookPoint,
  type MethodInstance,
  type ModuleSite,
  type ProjectionPayload,
} from '@adapterkit/core';
import { LORA_PACKAGE } from './method';
import { denseDims } from './sites';

/** Method id of PEFT-style (IA)³ (our `architecture`; PEFT files are read and written by import/export). */
export const PEFT_IA3 = 'peft_ia3';

/** Dense layers PEFT (IA)³ can target, by our site name. */
export const PEFT_IA3_SITES = ['query', 'key', 'value', 'qkv', 'attention_output', 'intermediate', 'output'] as const;
/** A dense layer of a Transformer layer (`qkv`: GPT-2's fused projection). */
export type PeftIa3Site = (typeof PEFT_IA3_SITES)[number];

/**
 * Config of a PEFT (IA)³ adapter (Liu et al. 2022, PEFT 0.14 `IA3Config`): a learned vector per targeted dense layer
 * that scales its **output** (bias included), or, for the `feedforwardSites`, its **input**.
 */
export interface PeftIa3Config extends AdapterConfigBase {
  readonly method: typeof PEFT_IA3;
  /** Targeted dense layers (PEFT `target_modules`). Default PEFT's BERT default: key, value, output. */
  readonly targetSites: readonly PeftIa3Site[];
  /** The targets whose input is scaled (PEFT `feedforward_modules`). Default `['output']`. */
  readonly feedforwardSites: readonly PeftIa3Site[];
}

/** Field specs. */
export const PEFT_IA3_FIELDS: { readonly [K in Exclude<keyof PeftIa3Config, 'method'>]-?: FieldSpec } = {
  targetSites: { type: 'list', doc: `scaled dense layers: ${PEFT_IA3_SITES.join(', ')}` },
  feedforwardSites: { type: 'list', doc: 'targets whose input (not output) is scaled' },
};

/** Defaults: PEFT's IA3 defaults for BERT on our sites (key, value, FFN output; the FFN output input-scaled). */
export const PEFT_IA3_DEFAULTS: Omit<PeftIa3Config, 'method'> = { targetSites: ['key', 'value', 'output'], feedforwardSites: ['output'] };

const SITE_INFO: Record<PeftIa3Site, { point: HookPoint; moduleSite: ModuleSite }> = {
  query: { point: 'attention.projection', moduleSite: 'attention.query' },
  key: { point: 'attention.projection', moduleSite: 'attention.key' },
  value: { point: 'attention.projection', moduleSite: 'attention.value' },
  qkv: { point: 'attention.projection', moduleSite: 'attention.qkv' },
  attention_output: { point: 'attention.outputProjection', moduleSite: 'attention.outputProjection' },
  intermediate: { point: 'ffn.intermediate', moduleSite: 'ffn.intermediate' },
  output: { point: 'ffn.outputProjection', moduleSite: 'ffn.outputProjection' },
};

/** The host module site of a PEFT (IA)³ site. */
export function peftIa3ModuleSite(site: PeftIa3Site): ModuleSite {
  return SITE_INFO[site].moduleSite;
}

/** Check a resolved config; throws AdapterConfigError naming the field at fault. */
export function validatePeftIa3Config(config: PeftIa3Config, host?: HostInfo): void {
  const fail = (field: string, message: string): never => {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `peft_ia3: '${field}' ${message}`);
  };
  if (config.targetSites.length === 0) fail('target_sites', 'must name at least one dense layer');
  for (const [field, list] of [['target_sites', config.targetSites], ['feedforward_sites', config.feedforwardSites]] as const) {
    const seen = new Set<string>();
    for (const s of list as readonly unknown[]) {
      if (typeof s !== 'string' || !(PEFT_IA3_SITES as readonly string[]).includes(s)) fail(field, `has unknown site ${JSON.stringify(s)}; sites: ${PEFT_IA3_SITES.join(', ')}`);
      if (seen.has(s as string)) fail(field, `lists '${String(s)}' twice`);
      seen.add(s as string);
      if (host && host.modulePath(SITE_INFO[s as PeftIa3Site].moduleSite, 0) === undefined) fail(field, `has '${String(s)}', which the ${host.modelType} host does not have`);
    }
  }
  for (const s of config.feedforwardSites) if (!config.targetSites.includes(s)) fail('feedforward_sites', `has '${s}', which is not in target_sites`);
}

/** One scaled dense layer. */
interface Ia3Module {
  readonly site: PeftIa3Site;
  readonly feedforward: boolean;
  /** `[in]` (feed-forward) or `[out]`. */
  readonly l: tf.Variable;
  readonly weight: tf.Variable | undefined;
  readonly bias: tf.Variable | undefined;
}

function create(ctx: CreateContext<PeftIa3Config>): MethodInstance {
  const { config, host, name } = ctx;
  const byLayer: Array<Map<string, Ia3Module>> = [];
  for (let layer = 0; layer < host.numLayers; layer++) {
    const mods = new Map<string, Ia3Module>();
    for (const site of config.targetSites) {
      const { moduleSite } = SITE_INFO[site];
      const path = host.modulePath(moduleSite, layer);
      if (path === undefined) throw new CapabilityError('MISSING_MODULE', `peft_ia3 needs module site '${moduleSite}', which the ${host.modelType} host does not have`);
      const feedforward = config.feedforwardSites.includes(site);
      const { inDim, outDim } = denseDims(host, moduleSite, layer, ctx.baseParameters);
      const weight = feedforward ? ctx.baseParameters?.get(`${path}.weight`) : undefined;
      if (feedforward && (!weight || weight.shape[0] !== inDim)) {
        throw new CapabilityError('MISSING_BASE_WEIGHT', `peft_ia3 feed-forward scaling needs the base weight '${path}.weight' [in ${inDim}, out ${outDim}]`);
      }
      const l = ctx.params.add(`${path}.ia3_l.${name}`, init.ones([feedforward ? inDim : outDim]));
      mods.set(site, { site, feedforward, l, weight, bias: feedforward ? ctx.baseParameters?.get(`${path}.bias`) : undefined });
    }
    byLayer.push(mods);
  }
  const handler = (layer: number) => {
    const mods = byLayer[layer];
    if (!mods || mods.size === 0) return undefined;
    return <S extends string>(p: ProjectionPayload<S>, next: (p: ProjectionPayload<S>) => tf.Tensor3D): tf.Tensor3D => {
      const m = mods.get(p.site);
      if (!m) return next(p);
      // PEFT IA3 Linear.forward: feed-forward `base(x * l)`, otherwise `base(x) * l` (bias included).
      const y = m.feedforward
        ? linear(tf.mul(p.x, m.l) as tf.Tensor3D, m.weight as tf.Tensor as tf.Tensor2D, m.bias as tf.Tensor as tf.Tensor1D | undefined)
        : (tf.mul(p.y, m.l) as tf.Tensor3D);
      return next({ ...p, y });
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
 * (IA)³ as PEFT 0.14 defines it (`IA3Config`), for PEFT files AdapterHub's (IA)³ cannot express: a vector `ia3_l`
 * per targeted dense layer scales the layer's output, bias included (`y ⊙ l`), or — for `feedforward_sites` — its
 * input (`W·(x ⊙ l) + b`). Sites include the attention output dense (`attention_output`), which PEFT hits on BERT
 * through its suffix match of `output.dense`. Keys: `<module path>.ia3_l.<name>` `[out]` or `[in]`.
 */
export const peftIa3 = defineAdapterMethod<PeftIa3Config>({
  name: PEFT_IA3,
  architecture: PEFT_IA3,
  fields: PEFT_IA3_FIELDS,
  defaults: PEFT_IA3_DEFAULTS,
  validate: validatePeftIa3Config,
  hooks: ['attention.projection', 'attention.outputProjection', 'ffn.intermediate', 'ffn.outputProjection'],
  create,
  meta: LORA_PACKAGE,
  description: "PEFT (IA)³: learned scaling of dense-layer outputs, or of feed-forward layers' inputs",
});
