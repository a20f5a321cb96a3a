import { AdapterConfigError, camelToSnake, parseAdapterSpec, snakeToCamel, suggestNearest } from '@adapterkit/core';

/**
 * Config of an AdapterFusion layer: the reference's `AdapterFusionConfig` (adapter-transformers 3.2.1; `adapters`
 * adds `dropout_prob`), camelCase. See {@link STATIC_FUSION} / {@link DYNAMIC_FUSION}.
 */
export interface AdapterFusionConfig {
  /** Key projection `Linear(H, H)` over the adapters' up-projection outputs. */
  readonly key: boolean;
  /** Query projection `Linear(H, H)` over the query (the sub-layer output after pre_forward). */
  readonly query: boolean;
  /** Value projection `Linear(H, H, bias=False)`. */
  readonly value: boolean;
  /** Query = the sub-layer output before the frozen LayerNorm of pre_forward. */
  readonly queryBeforeLn: boolean;
  /** Whether the regularisation 0.01·‖I − W_v‖² is meant to be applied while training (see `fusionRegularizationLoss`). */
  readonly regularization: boolean;
  /** Add the residual to the adapter outputs before attention (instead of to the fused output). */
  readonly residualBefore: boolean;
  /** Softmax temperature starting at 50 and decreasing by 0.05 per forward call down to 1. */
  readonly temperature: boolean;
  /** Apply the value projection to each adapter output before the weighted sum (else to the sum). */
  readonly valueBeforeSoftmax: boolean;
  /** Initialise W_v as the identity with off-diagonals 1e-6 (else N(0, 0.02)). */
  readonly valueInitialized: boolean;
  /** Dropout on the attention scores; null = the host's `attention_probs_dropout_prob` (`adapters` field). */
  readonly dropoutProb: number | null;
}

/** `StaticAdapterFusionConfig`: query and key only. */
export const STATIC_FUSION: AdapterFusionConfig = Object.freeze({
  key: true,
  query: true,
  value: false,
  queryBeforeLn: false,
  regularization: false,
  residualBefore: false,
  temperature: false,
  valueBeforeSoftmax: true,
  valueInitialized: false,
  dropoutProb: null,
});

/** `DynamicAdapterFusionConfig` (the default): query, key and an identity-initialised value, regularised. */
export const DYNAMIC_FUSION: AdapterFusionConfig = Object.freeze({
  ...STATIC_FUSION,
  value: true,
  regularization: true,
  valueInitialized: true,
});

/** Named fusion configs (the reference's `ADAPTERFUSION_CONFIG_MAP`). */
export const FUSION_PRESETS: Readonly<Record<'static' | 'dynamic', AdapterFusionConfig>> = { static: STATIC_FUSION, dynamic: DYNAMIC_FUSION };

/**
 * What `addAdapterFusion` accepts: a preset name, a config string over a preset (`'dynamic[temperature=True]'`),
 * or an object of fields (camelCase or the reference's snake_case) over the dynamic defaults.
 */
export type AdapterFusionConfigInput = 'static' | 'dynamic' | string | Partial<AdapterFusionConfig> | Record<string, unknown>;

const FIELDS = Object.keys(DYNAMIC_FUSION) as Array<keyof AdapterFusionConfig>;

function applyOverrides(base: AdapterFusionConfig, overrides: Record<string, unknown>, source: string): AdapterFusionConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [rawKey, value] of Object.entries(overrides)) {
    const key = snakeToCamel(rawKey) as keyof AdapterFusionConfig;
    if (!FIELDS.includes(key)) {
      const near = suggestNearest(rawKey, FIELDS.map((f) => camelToSnake(f)));
      throw new AdapterConfigError('UNKNOWN_FIELD', `${source}: unknown AdapterFusion field '${rawKey}'${near ? ` (did you mean '${near}'?)` : ''}`);
    }
    const ok = key === 'dropoutProb' ? value === null || (typeof value === 'number' && value >= 0 && value < 1) : typeof value === 'boolean';
    if (!ok) {
      throw new AdapterConfigError(
        'BAD_FIELD_VALUE',
        `${source}: AdapterFusion field '${camelToSnake(key)}' must be ${key === 'dropoutProb' ? 'a probability in [0, 1) or None' : 'a boolean'}, got ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return Object.freeze(out) as unknown as AdapterFusionConfig;
}

/** Resolve a fusion config input (see {@link AdapterFusionConfigInput}) to a full config. */
export function resolveFusionConfig(input: AdapterFusionConfigInput = 'dynamic'): AdapterFusionConfig {
  if (typeof input !== 'string') return applyOverrides(DYNAMIC_FUSION, input as Record<string, unknown>, 'AdapterFusion config');
  const chunks = parseAdapterSpec(input);
  const chunk = chunks[0];
  if (chunks.length !== 1 || !chunk) throw new AdapterConfigError('BAD_FUSION_CONFIG', `AdapterFusion config '${input}' must be one config name, 'static' or 'dynamic'`);
  const base = FUSION_PRESETS[chunk.name as 'static' | 'dynamic'];
  if (!base) {
    throw new AdapterConfigError('UNKNOWN_CONFIG', `Unknown AdapterFusion config '${chunk.name}' (known: static, dynamic)`);
  }
  return applyOverrides(base, chunk.kwargs, `AdapterFusion config '${input}'`);
}

/**
 * The config dict of `adapter_fusion_config.json` (snake_case): the reference's nine fields, plus `dropout_prob`
 * only when set (adapter-transformers 3.2.1 has no such field).
 */
export function fusionConfigToJson(config: AdapterFusionConfig): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  for (const f of FIELDS) {
    if (f === 'dropoutProb' && config.dropoutProb === null) continue;
    dict[camelToSnake(f)] = config[f];
  }
  return dict;
}

/** Read the `config` dict of `adapter_fusion_config.json`; every field of the reference is required. */
export function fusionConfigFromJson(dict: unknown, source: string): AdapterFusionConfig {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new AdapterConfigError('BAD_CONFIG_JSON', `${source}: "config" must be an object`);
  }
  const missing = FIELDS.filter((f) => f !== 'dropoutProb' && !(camelToSnake(f) in dict));
  if (missing.length > 0) throw new AdapterConfigError('BAD_CONFIG_JSON', `${source}: AdapterFusion config lacks ${missing.map((f) => camelToSnake(f)).join(', ')}`);
  return applyOverrides(DYNAMIC_FUSION, dict as Record<string, unknown>, source);
}
