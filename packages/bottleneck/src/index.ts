/**
 * `@adapterkit/bottleneck`: sequential and parallel bottleneck adapters (Pfeiffer, Houlsby, Parallel, scaled
 * Parallel) of adapter-transformers 3.2.1, as an AdapterKit method plugin. Install with
 * `new AdapterModel(host, { methods: [...plugins] })`; adapters live at the `attention.output` (`mh_adapter`) and
 * `ffn.output` (`output_adapter`) hook points, on hidden states `[batch, seq, hidden]`. Every composition block
 * (Stack, Fuse, Split, BatchSplit, Parallel, Average) is implemented; AdapterFusion layers are added with
 * `addAdapterFusion` and saved/loaded in the reference layout (`saveAdapterFusion` / `loadAdapterFusion`).
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
  type BottleneckConfigInput,
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
export { isBottleneckInstance, type BottleneckInstance } from './instance';
export { preForward, postPayload, originOf, type BottleneckModule, type PreForward, type SublayerOrigin, type SublayerPoint } from './sublayer';
export type { BottleneckForward, BottleneckOutputs } from './module';
export { BOTTLENECK_BLOCKS } from './compose';
export { averageAdapter, type AverageAdapterOptions } from './average';
export { splitParallelOutputs } from './parallel';
export {
  STATIC_FUSION,
  DYNAMIC_FUSION,
  FUSION_PRESETS,
  resolveFusionConfig,
  fusionConfigToJson,
  fusionConfigFromJson,
  type AdapterFusionConfig,
  type AdapterFusionConfigInput,
} from './fusion/config';
export { fusionName, fusionAdapters, type FusionSetup } from './fusion/name';
export type { FusionLayer, FusionResult } from './fusion/layer';
export type { Fusion, FusionAttentions } from './fusion/registry';
export {
  addAdapterFusion,
  deleteAdapterFusion,
  trainAdapterFusion,
  fusionRegularizationLoss,
  outputFusionAttentions,
  getFusionAttentions,
  adapterFusionNames,
  adapterFusionParams,
  type AddAdapterFusionOptions,
  type TrainAdapterFusionOptions,
} from './fusion/api';
export {
  saveAdapterFusion,
  loadAdapterFusion,
  serializeAdapterFusion,
  findFusionWeights,
  FUSION_CONFIG_FILE,
  FUSION_WEIGHTS_FILE,
  FUSION_WEIGHTS_BIN,
  type SaveAdapterFusionOptions,
  type LoadAdapterFusionOptions,
} from './fusion/io';

/** The plugins this package provides, for `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [bottleneck] as const;
