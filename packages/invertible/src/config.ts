import { BOTTLENECK_PRESETS, HoulsbyConfig, PfeifferConfig, type BottleneckConfig, type BottleneckConfigInput, type BottleneckOverrides } from '@adapterkit/bottleneck';

/** What the `+inv` presets add to their bottleneck preset: a NICE invertible adapter with subnet reduction 2. */
export const INV_OVERRIDES: BottleneckOverrides = Object.freeze({ invAdapter: 'nice', invAdapterReductionFactor: 2 });

const PFEIFFER_INV: BottleneckOverrides = Object.freeze({ ...BOTTLENECK_PRESETS['pfeiffer'], ...INV_OVERRIDES });
const HOULSBY_INV: BottleneckOverrides = Object.freeze({ ...BOTTLENECK_PRESETS['houlsby'], ...INV_OVERRIDES });

/**
 * Presets this package adds to the bottleneck method, under the adapter-transformers names and the `adapters`
 * names: `pfeiffer+inv` / `seq_bn_inv` and `houlsby+inv` / `double_seq_bn_inv`. Pure overrides of the bottleneck
 * defaults (the bottleneck preset plus {@link INV_OVERRIDES}).
 */
export const INVERTIBLE_PRESETS: Readonly<Record<string, BottleneckOverrides>> = Object.freeze({
  'pfeiffer+inv': PFEIFFER_INV,
  seq_bn_inv: PFEIFFER_INV,
  'houlsby+inv': HOULSBY_INV,
  double_seq_bn_inv: HOULSBY_INV,
});

/**
 * MAD-X language adapter (`pfeiffer+inv` / `seq_bn_inv`): a Pfeiffer adapter plus a NICE invertible adapter on the
 * embeddings (`inv_adapter='nice'`, `inv_adapter_reduction_factor=2`). A full, validated bottleneck config.
 */
export function PfeifferInvConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return PfeifferConfig({ ...INV_OVERRIDES, ...overrides });
}

/** Houlsby adapter plus a NICE invertible adapter (`houlsby+inv` / `double_seq_bn_inv`). A full bottleneck config. */
export function HoulsbyInvConfig(overrides: BottleneckConfigInput = {}): BottleneckConfig {
  return HoulsbyConfig({ ...INV_OVERRIDES, ...overrides });
}

/** `adapters` names of the constructors. */
export const SeqBnInvConfig = PfeifferInvConfig;
export const DoubleSeqBnInvConfig = HoulsbyInvConfig;
