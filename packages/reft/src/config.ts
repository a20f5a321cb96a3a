import { AdapterConfigError, getActivation, type AdapterConfigBase, type FieldSpec, type HostInfo } from '@adapterkit/core';

/** Method id of ReFT; its `architecture` in `adapter_config.json` is `reft`. */
export const REFT = 'reft';

/**
 * Config of a ReFT adapter (`adapters` 1.1 `ReftConfig`; Wu et al. 2024): a low-rank intervention
 * `h ← h + (act(W h + b) − R h) R` on the output of every layer in `layers`, at the first `prefixPositions` and the
 * last `suffixPositions` non-padding positions.
 */
export interface ReftConfig extends AdapterConfigBase {
  readonly method: typeof REFT;
  /** `'all'` or a list of layer indices. Default `'all'`. */
  readonly layers: 'all' | readonly number[];
  /** Number of leading non-padding positions edited by unit 0. Default 3 (LoReFT). */
  readonly prefixPositions: number;
  /** Number of trailing non-padding positions edited by unit 1 (unit 0 when tied). Default 0. */
  readonly suffixPositions: number;
  /** Rank of the intervention. Default 1. */
  readonly r: number;
  /** Orthonormal rows of R through torch's orthogonal parametrisation (LoReFT). Default true. */
  readonly orthogonality: boolean;
  /** One unit for prefix and suffix instead of two. Default false. */
  readonly tiedWeights: boolean;
  /**
   * Subtract `R h` (LoReFT, NoReFT); false = DiReFT. The reference keeps this as an unsaved class attribute, so its
   * files never carry it; we write `subtract_projection: false` for DiReFT and read its absence as true, as the
   * reference does. Default true.
   */
  readonly subtractProjection: boolean;
  /** Dropout on the edited states (training only). Default 0.05. */
  readonly dropout: number;
  /** Activation of the learned source (null = identity). Default null. */
  readonly nonLinearity: string | null;
  /** The reference's parameter dtype; only null / `float32` are supported. Default null. */
  readonly dtype: string | null;
  /** Intervene on layer outputs (the only location `adapters` 1.1 has). Default true. */
  readonly outputReft: boolean;
}

/** Field specs (snake_case keys of `adapter_config.json`). */
export const REFT_FIELDS: { readonly [K in Exclude<keyof ReftConfig, 'method'>]-?: FieldSpec } = {
  layers: { type: 'any', doc: "'all' or a list of layer indices" },
  prefixPositions: { type: 'int', doc: 'leading non-padding positions edited (unit 0)' },
  suffixPositions: { type: 'int', doc: 'trailing non-padding positions edited (unit 1, or unit 0 when tied)' },
  r: { type: 'int', max: 16384, doc: 'rank of the intervention' },
  orthogonality: { type: 'bool', doc: 'orthonormal R (LoReFT) through the householder parametrisation' },
  tiedWeights: { type: 'bool', doc: 'one unit for prefix and suffix' },
  subtractProjection: { type: 'bool', omitDefault: true, doc: "subtract R·h (false = DiReFT); written only when false" },
  dropout: { type: 'float', doc: 'dropout on the edited states' },
  nonLinearity: { type: 'string', nullable: true, doc: 'activation of the learned source (None = identity)' },
  dtype: { type: 'string', nullable: true, doc: "parameter dtype (None or 'float32')" },
  outputReft: { type: 'bool', doc: 'intervene on layer outputs' },
};

/** Defaults: `adapters` 1.1 `LoReftConfig()`. */
export const REFT_DEFAULTS: Omit<ReftConfig, 'method'> = {
  layers: 'all',
  prefixPositions: 3,
  suffixPositions: 0,
  r: 1,
  orthogonality: true,
  tiedWeights: false,
  subtractProjection: true,
  dropout: 0.05,
  nonLinearity: null,
  dtype: null,
  outputReft: true,
};

/** Config names: `loreft`, `noreft`, `direft` (the reference's `LoReftConfig`, `NoReftConfig`, `DiReftConfig`). */
export const REFT_PRESETS: Readonly<Record<string, Partial<Omit<ReftConfig, 'method'>>>> = {
  loreft: {},
  noreft: { orthogonality: false },
  direft: { orthogonality: false, subtractProjection: false },
};

/** The layers a config edits on a host with `numLayers` layers, ascending. */
export function reftLayers(config: ReftConfig, numLayers: number): number[] {
  const all = Array.from({ length: numLayers }, (_, i) => i);
  if (config.layers === 'all') return all;
  const set = new Set(config.layers);
  return all.filter((i) => set.has(i));
}

/** Check a resolved config; throws AdapterConfigError naming the field at fault. */
export function validateReftConfig(config: ReftConfig, host?: HostInfo): void {
  const fail = (field: string, message: string): never => {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `reft: '${field}' ${message}`);
  };
  const nonNegInt = (v: number, field: string): void => {
    if (!Number.isInteger(v) || v < 0) fail(field, `must be a non-negative integer, got ${v}`);
  };
  nonNegInt(config.prefixPositions, 'prefix_positions');
  nonNegInt(config.suffixPositions, 'suffix_positions');
  if (config.prefixPositions + config.suffixPositions === 0) fail('prefix_positions', 'and suffix_positions are both 0: the adapter would edit nothing');
  if (!Number.isInteger(config.r) || config.r < 1) fail('r', `must be a positive integer, got ${config.r}`);
  if (host && config.orthogonality && config.r >= host.hiddenSize) {
    fail('r', `must be below hidden_size (${host.hiddenSize}) with orthogonality (the householder parametrisation of a tall matrix), got ${config.r}`);
  }
  if (config.layers !== 'all') {
    if (!Array.isArray(config.layers) || !config.layers.every((l) => Number.isInteger(l) && l >= 0)) {
      fail('layers', `must be 'all' or a list of layer indices, got ${JSON.stringify(config.layers)}`);
    }
    if (host) for (const l of config.layers) if (l >= host.numLayers) fail('layers', `has layer ${l}, but the host has ${host.numLayers} layers`);
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) fail('dropout', `must be in [0, 1), got ${config.dropout}`);
  if (config.nonLinearity !== null) {
    try {
      getActivation(config.nonLinearity);
    } catch {
      fail('non_linearity', `names an unknown activation '${config.nonLinearity}'`);
    }
  }
  if (config.dtype !== null && config.dtype !== 'float32') fail('dtype', `must be None or 'float32', got ${JSON.stringify(config.dtype)}`);
  if (!config.outputReft) fail('output_reft', 'must be True (adapters 1.1 intervenes on layer outputs only)');
}
