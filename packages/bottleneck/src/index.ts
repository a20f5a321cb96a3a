/**
 * `@adapterkit/bottleneck`: sequential and parallel bottleneck adapters (Pfeiffer, Houlsby, Parallel, scaled
 * Parallel) of adapter-transformers 3.2.1, as an AdapterKit method plugin. Install with
 * `new AdapterModel(host, { methods: [...plugins] })`; adapters live at the `attention.output` (`mh_adapter`) and
 * `ffn.output` (`output_adapter`) hook points, on hidden states `[batch, seq, hidden]`.
 *
 * @packageDocumentation
 */
import { bottleneck } from './method';

export { bottleneck } from './method';
export {
  AdapterConfig,
  BnConfig,
  PfeifferConfig,
  HoulsbyConfig,
  ParallelConfig,
  SeqBnConfig,
  DoubleSeqBnConfig,
  ParBnConfig,
  BOTTLENECK_DEFAULTS,
  BOTTLENECK_FIELDS,
  BOTTLENECK_PRESETS,
  validateBottleneckConfig,
  type BottleneckConfig,
  type BottleneckFields,
  type BottleneckOverrides,
  type InitWeights,
  type Scaling,
} from './config';
export { bottleneckSize, pyFloorDiv, reductionFactorAt, type ReductionFactor } from './reduction';
export {
  PROJECTION_POINT,
  INVERTIBLE_POINT,
  defineProjectionExtension,
  defineInvertibleExtension,
  type AdapterProjections,
  type BottleneckExtensionSpec,
  type BottleneckLocation,
  type InvertibleAdapter,
  type InvertibleContext,
  type InvertibleProvider,
  type Projection,
  type ProjectionAdapterContext,
  type ProjectionProvider,
  type ProjectionSpec,
} from './extensions';
export type { BottleneckForwardState } from './invertible';

/** The plugins this package provides, for `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [bottleneck] as const;
