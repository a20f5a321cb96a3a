import { AdapterConfigError, buildConfig, getActivation, type AdapterConfigBase, type AnyAdapterMethod, type FieldSpec, type HostInfo } from '@adapterkit/core';
import { reductionFactorAt, type ReductionFactor } from './reduction';

/** Scaling of the up-projection output: a constant, a learned scalar, or a learned per-channel vector (`adapters`). */
export type Scaling = number | 'learned' | 'channel';

/** Weight initialisation schemes (`houlsby` is from `adapters`). */
export type InitWeights = 'bert' | 'mam_adapter' | 'houlsby';

/**
 * Config of a bottleneck adapter: the reference's `AdapterConfig` (adapter-transformers 3.2.1) / `BnConfig`
 * (`adapters`), camelCase. `adapter_config.json` uses the reference's snake_case keys (`factorized_phm_W`,
 * `shared_W_phm` keep their capitals).
 */
export interface BottleneckConfig extends AdapterConfigBase {
  readonly method: 'bottleneck';
  /** Adapter after the multi-head attention output (location `mh_adapter`). */
  readonly mhAdapter: boolean;
  /** Adapter after the feed-forward output (location `output_adapter`). */
  readonly outputAdapter: boolean;
  /** bottleneck = `max(1, int(hidden // rf))`; a map `{'1': 8, default: 16}` sets it per layer; rf < 1 widens. */
  readonly reductionFactor: ReductionFactor;
  /** Activation after the down-projection (HF `get_activation` names: relu, swish, gelu, gelu_new, tanh, ...). */
  readonly nonLinearity: string;
  /** Add the residual and apply the frozen sub-layer LayerNorm before the adapter. */
  readonly originalLnBefore: boolean;
  /** Add the residual and apply the frozen sub-layer LayerNorm after the adapter. */
  readonly originalLnAfter: boolean;
  /** New LayerNorm inside the adapter, before the down-projection. */
  readonly lnBefore: boolean;
  /** New LayerNorm after the up-projection. */
  readonly lnAfter: boolean;
  readonly initWeights: InitWeights;
  /** Parallel adapter (He et al.): reads the sub-layer input, output added beside the sub-layer output. */
  readonly isParallel: boolean;
  readonly scaling: Scaling;
  /** Sigmoid gate `Linear(hidden, 1)` averaged over the sequence (UniPELT). */
  readonly useGating: boolean;
  /** Adapter residual: the sub-layer output (true), the tensor after the frozen LN (false), or `h + x` (`post_add`). */
  readonly residualBeforeLn: boolean | 'post_add';
  /** With `lnAfter`: add the residual before (true) or after (false) the new LayerNorm. */
  readonly adapterResidualBeforeLn: boolean;
  /** Invertible adapter on the embeddings output (needs `@adapterkit/invertible`). */
  readonly invAdapter: 'nice' | 'glow' | null;
  readonly invAdapterReductionFactor: number | null;
  /** Adapter after cross-attention; only encoder-decoder hosts have one, so it has no effect on current hosts. */
  readonly crossAdapter: boolean;
  /** Layer ids that get no adapter module. */
  readonly leaveOut: readonly number[];
  /** Dropout on the scaled up-projection output, training only (`adapters` field; written only when non-zero). */
  readonly dropout: number;
  /** Replace the down/up Linear layers by PHM layers (Compacter; needs `@adapterkit/compacter`). */
  readonly phmLayer: boolean;
  readonly phmDim: number;
  readonly factorizedPhmW: boolean | null;
  readonly sharedWPhm: boolean | null;
  readonly sharedPhmRule: boolean | null;
  readonly factorizedPhmRule: boolean | null;
  readonly phmCInit: 'normal' | 'uniform' | null;
  readonly phmInitRange: number | null;
  readonly learnPhm: boolean | null;
  readonly hypercomplexNonlinearity: string | null;
  readonly phmRank: number | null;
  readonly phmBias: boolean | null;
}

/** The fields of a bottleneck config (everything but `method`). */
export type BottleneckFields = Omit<BottleneckConfig, 'method'>;

/**
 * A field spec plus `omitDefault`: the field is left out of `adapter_config.json` while it has its default value
 * (for `adapters`-only fields, so files keep adapter-transformers 3.2.1's exact key set). Needs core's config
 * writer to honour `FieldSpec.omitDefault`; once core declares it, this is plain `FieldSpec`.
 */
/**
 * Smallest reduction factor accepted (a bottleneck at most 16 times the hidden size): bounds the size of what a
 * config can make us allocate.
 */
export const MIN_REDUCTION_FACTOR = 1 / 16;

type BottleneckFieldSpec = FieldSpec & { readonly omitDefault?: boolean };

/** Field specs: drive snake_case keys, config-string parsing, validation and float typing in JSON. */
export const BOTTLENECK_FIELDS: { readonly [K in keyof BottleneckFields]-?: BottleneckFieldSpec } = {
  mhAdapter: { type: 'bool' },
  outputAdapter: { type: 'bool' },
  reductionFactor: { type: 'number', layerMap: true, min: MIN_REDUCTION_FACTOR },
  nonLinearity: { type: 'string' },
  originalLnBefore: { type: 'bool' },
  originalLnAfter: { type: 'bool' },
  lnBefore: { type: 'bool' },
  lnAfter: { type: 'bool' },
  initWeights: { type: 'string', values: ['bert', 'mam_adapter', 'houlsby'] },
  isParallel: { type: 'bool' },
  scaling: { type: 'float', values: ['learned', 'channel'], doc: "a float, 'learned' or 'channel'" },
  useGating: { type: 'bool' },
  residualBeforeLn: { type: 'any', doc: "True, False or 'post_add'" },
  adapterResidualBeforeLn: { type: 'bool' },
  invAdapter: { type: 'string', nullable: true, values: ['nice', 'glow'] },
  invAdapterReductionFactor: { type: 'number', nullable: true, min: MIN_REDUCTION_FACTOR },
  crossAdapter: { type: 'bool' },
  leaveOut: { type: 'list' },
  dropout: { type: 'float', omitDefault: true },
  phmLayer: { type: 'bool' },
  phmDim: { type: 'int', max: 64 },
  factorizedPhmW: { type: 'bool', nullable: true, snake: 'factorized_phm_W' },
  sharedWPhm: { type: 'bool', nullable: true, snake: 'shared_W_phm' },
  sharedPhmRule: { type: 'bool', nullable: true },
  factorizedPhmRule: { type: 'bool', nullable: true },
  phmCInit: { type: 'string', nullable: true, values: ['normal', 'uniform'] },
  phmInitRange: { type: 'float', nullable: true },
  learnPhm: { type: 'bool', nullable: true },
  hypercomplexNonlinearity: { type: 'string', nullable: true },
  phmRank: { type: 'int', nullable: true, max: 16384 },
  phmBias: { type: 'bool', nullable: true },
};

/**
 * Defaults of the base config. The reference requires `mh_adapter`, `output_adapter`, `reduction_factor` and
 * `non_linearity`; here they default to an output adapter with rf 16 and ReLU (the `bottleneck` config name).
 */
export const BOTTLENECK_DEFAULTS: BottleneckFields = Object.freeze({
  mhAdapter: false,
  outputAdapter: true,
  reductionFactor: 16,
  nonLinearity: 'relu',
  originalLnBefore: false,
  originalLnAfter: true,
  lnBefore: false,
  lnAfter: false,
  initWeights: 'bert',
  isParallel: false,
  scaling: 1.0,
  useGating: false,
  residualBeforeLn: true,
  adapterResidualBeforeLn: false,
  invAdapter: null,
  invAdapterReductionFactor: null,
  crossAdapter: false,
  leaveOut: Object.freeze([]) as readonly number[],
  dropout: 0.0,
  phmLayer: false,
  phmDim: 4,
  factorizedPhmW: true,
  sharedWPhm: false,
  sharedPhmRule: true,
  factorizedPhmRule: false,
  phmCInit: 'normal',
  phmInitRange: 0.0001,
  learnPhm: true,
  hypercomplexNonlinearity: 'glorot-uniform',
  phmRank: 1,
  phmBias: true,
});

/** Overrides of a preset. */
export type BottleneckOverrides = Partial<BottleneckFields>;

/**
 * What the typed constructors accept: fields in our camelCase spelling or the reference's snake_case one
 * (`mh_adapter`, `reduction_factor`, `factorized_phm_W`); an unknown key is a typed `UNKNOWN_FIELD` error naming it.
 */
export type BottleneckConfigInput = BottleneckOverrides & Readonly<Record<string, unknown>>;

const PFEIFFER: BottleneckOverrides = Object.freeze({
  originalLnBefore: true,
  originalLnAfter: true,
  residualBeforeLn: true,
  adapterResidualBeforeLn: false,
  lnBefore: false,
  lnAfter: false,
  mhAdapter: false,
  outputAdapter: true,
  nonLinearity: 'relu',
  reductionFactor: 16,
});

const HOULSBY: BottleneckOverrides = Object.freeze({
  originalLnBefore: false,
  originalLnAfter: true,
  residualBeforeLn: true,
  adapterResidualBeforeLn: false,
  lnBefore: false,
  lnAfter: false,
  mhAdapter: true,
  outputAdapter: true,
  nonLinearity: 'swish',
  reductionFactor: 16,
});

const PARALLEL: BottleneckOverrides = Object.freeze({
  originalLnBefore: false,
  originalLnAfter: true,
  lnBefore: false,
  lnAfter: false,
  mhAdapter: false,
  outputAdapter: true,
  nonLinearity: 'relu',
  reductionFactor: 2,
  initWeights: 'mam_adapter',
  isParallel: true,
  scaling: 4.0,
});

const SCALED_PARALLEL: BottleneckOverrides = Object.freeze({ ...PARALLEL, scaling: 'learned' });

/**
 * Presets (pure overrides of {@link BOTTLENECK_DEFAULTS}) under the adapter-transformers names and the `adapters`
 * names. Extensions building on a preset (e.g. `compacter` = Houlsby + PHM) spread these.
 */
export const BOTTLENECK_PRESETS: Readonly<Record<string, BottleneckOverrides>> = Object.freeze({
  pfeiffer: PFEIFFER,
  seq_bn: PFEIFFER,
  houlsby: HOULSBY,
  double_seq_bn: HOULSBY,
  parallel: PARALLEL,
  par_bn: PARALLEL,
  scaled_parallel: SCALED_PARALLEL,
  scaled_par_bn: SCALED_PARALLEL,
});

function fail(field: string, message: string): never {
  throw new AdapterConfigError('BAD_FIELD_VALUE', `bottleneck config: field '${field}' ${message}`);
}

function checkReductionFactor(rf: unknown, field: string): void {
  if (typeof rf === 'number') {
    if (!(rf > 0) || !Number.isFinite(rf)) fail(field, `must be a positive number, got ${rf}`);
    return;
  }
  if (typeof rf !== 'object' || rf === null || Array.isArray(rf)) fail(field, `must be a number or a per-layer map, got ${JSON.stringify(rf)}`);
  for (const [key, value] of Object.entries(rf as Record<string, unknown>)) {
    if (typeof value !== 'number' || !(value > 0)) fail(field, `entry '${key}' must be a positive number, got ${JSON.stringify(value)}`);
  }
}

/**
 * Check a full bottleneck config (and, with a host, that every layer that gets a module has a reduction factor).
 * Throws AdapterConfigError naming the field and value at fault.
 */
export function validateBottleneckConfig(config: BottleneckConfig, host?: HostInfo): void {
  getActivation(config.nonLinearity);
  if (config.crossAdapter !== false) {
    // No host of this library has decoder cross-attention, so a cross adapter would silently do nothing.
    fail('cross_adapter', `= True needs decoder cross-attention (encoder-decoder models), which ${host ? `the ${host.modelType} host lacks` : 'no AdapterKit host has'}`);
  }
  checkReductionFactor(config.reductionFactor, 'reduction_factor');
  const s = config.scaling;
  if (typeof s === 'number' ? !Number.isFinite(s) : s !== 'learned' && s !== 'channel') {
    fail('scaling', `must be a float, 'learned' or 'channel', got ${JSON.stringify(s)}`);
  }
  const r = config.residualBeforeLn;
  if (r !== true && r !== false && r !== 'post_add') fail('residual_before_ln', `must be True, False or 'post_add', got ${JSON.stringify(r)}`);
  if (r === 'post_add' && !config.originalLnBefore && !config.isParallel) {
    fail('residual_before_ln', "= 'post_add' takes the residual after the add of original_ln_before, which is False");
  }
  if (!Array.isArray(config.leaveOut) || config.leaveOut.some((l) => !Number.isInteger(l))) {
    fail('leave_out', `must be a list of layer ids, got ${JSON.stringify(config.leaveOut)}`);
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) fail('dropout', `must be in [0, 1), got ${config.dropout}`);
  if (config.invAdapterReductionFactor !== null) checkReductionFactor(config.invAdapterReductionFactor, 'inv_adapter_reduction_factor');
  if (host) {
    for (let layer = 0; layer < host.numLayers; layer++) {
      if ((config.mhAdapter || config.outputAdapter) && !config.leaveOut.includes(layer)) reductionFactorAt(config.reductionFactor, layer);
    }
  }
}

/** Fields the reference requires on its base `AdapterConfig`. */
type RequiredFields = 'mhAdapter' | 'outputAdapter' | 'reductionFactor' | 'nonLinearity';

/** The bottleneck method's config schema, for core's generic builder (the same one config strings and files use). */
const SCHEMA = { name: 'bottleneck', fields: BOTTLENECK_FIELDS, defaults: BOTTLENECK_DEFAULTS, presets: BOTTLENECK_PRESETS, validate: validateBottleneckConfig } as unknown as AnyAdapterMethod;

function build(preset: BottleneckOverrides, overrides: BottleneckConfigInput, where: string): BottleneckConfig {
  return buildConfig(SCHEMA, undefined, { ...preset, ...overrides }, where) as unknown as BottleneckConfig;
}

const REQUIRED: readonly [RequiredFields, string][] = [
  ['mhAdapter', 'mh_adapter'],
  ['outputAdapter', 'output_adapter'],
  ['reductionFactor', 'reduction_factor'],
  ['nonLinearity', 'non_linearity'],
];

/**
 * The reference's base `AdapterConfig(...)` (`adapters`: `BnConfig`): a full, validated bottleneck config, e.g.
 * `AdapterConfig({ mh_adapter: true, output_adapter: true, reduction_factor: 16, non_linearity: 'relu' })`.
 * Like the reference it requires `mh_adapter`, `output_adapter`, `reduction_factor` and `non_linearity` (either
 * spelling).
 */
export function AdapterConfig(overrides: BottleneckConfigInput): BottleneckConfig {
  const missing = REQUIRED.filter(([camel, snake]) => !(camel in overrides) && !(snake in overrides)).map(([, snake]) => snake);
  if (missing.length > 0) {
    throw new AdapterConfigError('MISSING_FIELD', `AdapterConfig(...): the reference requires ${missing.join(', ')}`);
  }
  return build({}, overrides, 'AdapterConfig(...)');
}

/** `adapters` name of {@link AdapterConfig}. */
export const BnConfig = AdapterConfig;

/** Pfeiffer adapter (`pfeiffer` / `seq_bn`): y = LN(A(LN(h + x)) + h + x), rf 16, ReLU. */
export function PfeifferConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return build(PFEIFFER, overrides, 'PfeifferConfig(...)');
}

/** Houlsby adapter (`houlsby` / `double_seq_bn`) after attention and FFN: y = LN(h + A(h) + x), rf 16, swish. */
export function HoulsbyConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return build(HOULSBY, overrides, 'HoulsbyConfig(...)');
}

/** Parallel adapter (`parallel` / `par_bn`): y = LN(h + x + 4·A(x)), rf 2, zero-initialised up-projection. */
export function ParallelConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return build(PARALLEL, overrides, 'ParallelConfig(...)');
}

/** `adapters` names of the preset constructors. */
export const SeqBnConfig = PfeifferConfig;
export const DoubleSeqBnConfig = HoulsbyConfig;
export const ParBnConfig = ParallelConfig;
