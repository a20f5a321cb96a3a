import { AdapterConfigError } from '@adapterkit/core';
import { BOTTLENECK_PRESETS, HoulsbyConfig, PfeifferConfig, type BottleneckConfig, type BottleneckConfigInput, type BottleneckOverrides } from '@adapterkit/bottleneck';

/** What `compacter` / `compacter++` add to their base preset. */
const PHM_OVERRIDES = Object.freeze({ phmLayer: true, reductionFactor: 32, nonLinearity: 'gelu' }) satisfies BottleneckOverrides;

function basePreset(name: string): BottleneckOverrides {
  const preset = BOTTLENECK_PRESETS[name];
  if (!preset) throw new AdapterConfigError('BAD_PRESET', `compacter: @adapterkit/bottleneck has no '${name}' preset`);
  return preset;
}

/**
 * Presets this package adds to the bottleneck method (pure overrides of its defaults): `compacter` = Houlsby +
 * PHM (rf 32, GELU), `compacter++` = Pfeiffer + PHM (rf 32, GELU), as adapter-transformers 3.2.1 and `adapters`.
 */
export const COMPACTER_PRESETS: Readonly<Record<'compacter' | 'compacter++', BottleneckOverrides>> = Object.freeze({
  compacter: Object.freeze({ ...basePreset('houlsby'), ...PHM_OVERRIDES }),
  'compacter++': Object.freeze({ ...basePreset('pfeiffer'), ...PHM_OVERRIDES }),
});

function fail(field: string, message: string): never {
  throw new AdapterConfigError('BAD_FIELD_VALUE', `compacter config: field '${field}' ${message}`);
}

const isPositiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Check the PHM fields of a bottleneck config with `phmLayer` (no-op otherwise). Sizes against the host (in/out
 * features divisible by `phm_dim`) are checked when the adapter is added. Throws AdapterConfigError naming the
 * field and value at fault.
 */
export function validatePhmConfig(config: BottleneckConfig): void {
  if (!config.phmLayer) return;
  if (!isPositiveInt(config.phmDim)) fail('phm_dim', `must be a positive integer, got ${JSON.stringify(config.phmDim)}`);
  if (config.factorizedPhmW && !isPositiveInt(config.phmRank)) {
    fail('phm_rank', `must be a positive integer with factorized_phm_W=True, got ${JSON.stringify(config.phmRank)}`);
  }
  if (config.phmCInit !== 'normal' && config.phmCInit !== 'uniform') {
    fail('phm_c_init', `must be 'normal' or 'uniform', got ${JSON.stringify(config.phmCInit)}`);
  }
  const range = config.phmInitRange;
  if (config.sharedPhmRule && config.phmCInit === 'normal' && !(typeof range === 'number' && Number.isFinite(range) && range >= 0)) {
    fail('phm_init_range', `(the std of the shared rule init) must be a non-negative number, got ${JSON.stringify(range)}`);
  }
  if (config.initWeights !== 'bert') {
    fail(
      'init_weights',
      `= '${config.initWeights}' is not supported with phm_layer=True: the reference initialises '.weight' of the down/up ` +
        `projections, which PHM layers lack, and fails; use 'bert' (PHM parameters keep their own init)`,
    );
  }
}

function build(base: (o: BottleneckConfigInput) => BottleneckConfig, overrides: BottleneckConfigInput): BottleneckConfig {
  const config = base({ ...PHM_OVERRIDES, ...overrides });
  validatePhmConfig(config);
  return config;
}

/** Compacter (`compacter`): Houlsby adapters with PHM down/up projections, rf 32, GELU. A full bottleneck config. */
export function CompacterConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return build(HoulsbyConfig, overrides);
}

/** Compacter++ (`compacter++`): Pfeiffer adapters with PHM down/up projections, rf 32, GELU. A full bottleneck config. */
export function CompacterPlusPlusConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return build(PfeifferConfig, overrides);
}
