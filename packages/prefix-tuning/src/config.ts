import { AdapterConfigError, buildConfig, getActivation, type AdapterConfigBase, type AnyAdapterMethod, type FieldSpec, type HostInfo } from '@adapterkit/core';

/** Method id of prefix tuning (also its `architecture` in `adapter_config.json`). */
export const PREFIX_TUNING = 'prefix_tuning';

/**
 * Config of prefix tuning (the reference's `PrefixTuningConfig`, adapter-transformers 3.2.1): trainable key/value
 * prefixes of length `prefixLength` prepended in every attention layer not in `leaveOut`.
 */
export interface PrefixTuningConfig extends AdapterConfigBase {
  readonly method: typeof PREFIX_TUNING;
  /** Prefix on encoder self-attention of encoder-decoder models (no effect on encoder-only / decoder-only hosts). */
  readonly encoderPrefix: boolean;
  /** Prefix on decoder cross-attention of encoder-decoder models (no effect on encoder-only / decoder-only hosts). */
  readonly crossPrefix: boolean;
  /** Layer indices that get no prefix. */
  readonly leaveOut: readonly number[];
  /** True: the prefixes are trained directly (`control_trans` `[P·L·2·H]`); false: through an MLP reparameterisation. */
  readonly flat: boolean;
  /** Number of prefix positions P. */
  readonly prefixLength: number;
  /** Hidden size of the reparameterisation MLP (`flat = false`). */
  readonly bottleneckSize: number;
  /** Activation of the reparameterisation MLP. */
  readonly nonLinearity: string;
  /** Dropout on the produced prefix keys/values (training only). */
  readonly dropout: number;
  /** UniPELT gate `σ(W_g x + b_g)`, averaged over the sequence, scaling the prefix keys/values. */
  readonly useGating: boolean;
  /** One gate for keys and values (`Linear(H, 1)`) instead of two (`Linear(H, 2)`). */
  readonly sharedGating: boolean;
}

/** Field specs (snake_case keys of `adapter_config.json`; `dropout` is written as a Python float). */
export const PREFIX_TUNING_FIELDS: { readonly [K in Exclude<keyof PrefixTuningConfig, 'method'>]-?: FieldSpec } = {
  encoderPrefix: { type: 'bool', doc: 'Prefix on encoder self-attention (encoder-decoder models)' },
  crossPrefix: { type: 'bool', doc: 'Prefix on decoder cross-attention (encoder-decoder models)' },
  leaveOut: { type: 'list', doc: 'Layers without a prefix' },
  flat: { type: 'bool', doc: 'Train the prefixes directly instead of through the MLP' },
  prefixLength: { type: 'int', max: 1024, doc: 'Number of prefix positions' },
  bottleneckSize: { type: 'int', max: 4096, doc: 'Hidden size of the reparameterisation MLP' },
  nonLinearity: { type: 'string', doc: 'Activation of the reparameterisation MLP' },
  dropout: { type: 'float', doc: 'Dropout on the prefix keys/values' },
  useGating: { type: 'bool', doc: 'UniPELT gate on the prefix' },
  sharedGating: { type: 'bool', doc: 'One gate for keys and values (else separate gates)' },
};

/** Defaults of the reference's `PrefixTuningConfig`. */
export const PREFIX_TUNING_DEFAULTS: Omit<PrefixTuningConfig, 'method'> = {
  encoderPrefix: true,
  crossPrefix: true,
  leaveOut: [],
  flat: false,
  prefixLength: 30,
  bottleneckSize: 512,
  nonLinearity: 'tanh',
  dropout: 0.0,
  useGating: false,
  sharedGating: true,
};

/** Config names of the reference: `prefix_tuning` (reparameterised) and `prefix_tuning_flat`. */
export const PREFIX_TUNING_PRESETS: Readonly<Record<string, Partial<Omit<PrefixTuningConfig, 'method'>>>> = {
  prefix_tuning: {},
  prefix_tuning_flat: { flat: true },
};

/** Layers (ascending) that carry a prefix: every layer of the host except those in `leaveOut`. */
export function prefixLayers(config: PrefixTuningConfig, numLayers: number): number[] {
  const out = new Set(config.leaveOut);
  return Array.from({ length: numLayers }, (_, i) => i).filter((i) => !out.has(i));
}

function positiveInt(value: number, key: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `prefix_tuning: '${key}' must be a positive integer, got ${value}`);
  }
}

/**
 * Check a resolved config (and, when known, the host). Throws AdapterConfigError naming the field at fault.
 * Layer ids in `leave_out` outside the host are ignored, as in the reference.
 */
export function validatePrefixTuningConfig(config: PrefixTuningConfig, host?: HostInfo): void {
  positiveInt(config.prefixLength, 'prefix_length');
  // Encoder-decoder switches: no host of this library has an encoder-decoder split or cross-attention, so only the
  // defaults (which change nothing on encoder-only and decoder-only models) are accepted.
  for (const [field, key] of [['encoderPrefix', 'encoder_prefix'], ['crossPrefix', 'cross_prefix']] as const) {
    if (config[field] !== true) {
      throw new AdapterConfigError(
        'UNSUPPORTED_FIELD',
        `prefix_tuning: '${key}' = False only applies to encoder-decoder models, which ${host ? `the ${host.modelType} host is not` : 'no AdapterKit host is'}; leave it True`,
      );
    }
  }
  if (!config.flat) positiveInt(config.bottleneckSize, 'bottleneck_size');
  getActivation(config.nonLinearity);
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `prefix_tuning: 'dropout' must be in [0, 1), got ${config.dropout}`);
  }
  for (const layer of config.leaveOut) {
    if (!Number.isInteger(layer)) {
      throw new AdapterConfigError('BAD_FIELD_VALUE', `prefix_tuning: 'leave_out' must list integer layer ids, got ${JSON.stringify(layer)}`);
    }
  }
  if (host && prefixLayers(config, host.numLayers).length === 0) {
    throw new AdapterConfigError(
      'BAD_FIELD_VALUE',
      `prefix_tuning: 'leave_out' [${config.leaveOut.join(', ')}] leaves out all ${host.numLayers} layers of the ${host.modelType} host; no layer would get a prefix`,
    );
  }
}

/**
 * Build a full prefix-tuning config from the defaults and `overrides` (camelCase or the reference's snake_case field
 * names; an unknown key is a typed error naming it), through core's generic builder, like the reference's
 * `PrefixTuningConfig(**kwargs)`. Validated; frozen.
 *
 * ```ts
 * model.addAdapter('task', PrefixTuningConfig({ prefixLength: 8, flat: true }));
 * ```
 */
export function PrefixTuningConfig(overrides: Partial<Omit<PrefixTuningConfig, 'method'>> & Readonly<Record<string, unknown>> = {}): PrefixTuningConfig {
  return buildConfig(SCHEMA, undefined, overrides, 'PrefixTuningConfig(...)') as unknown as PrefixTuningConfig;
}

/** The method's config schema, for core's generic builder (the same one config strings and files use). */
const SCHEMA = { name: PREFIX_TUNING, fields: PREFIX_TUNING_FIELDS, defaults: PREFIX_TUNING_DEFAULTS, validate: validatePrefixTuningConfig } as unknown as AnyAdapterMethod;
