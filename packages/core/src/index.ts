/**
 * @adapterkit/core — the plugin contract, hook dispatcher, configs, composition, model wrapper and file I/O.
 * Knows no specific adapter method.
 */
export * from './errors';
export { registerTrainingSupport } from './nn/kernels';

export * from './hooks/points';
export { addAndNorm } from './hooks/sublayer';
export { Dispatcher, type AdapterMember, type MemberLookup } from './hooks/dispatcher';

export * from './composition/blocks';

export * from './method/define';
export * from './method/blocks';
export * from './method/extension';

export { ConfigParseError } from './config/errors';
export { parseAdapterSpec, formatAdapterSpec, snakeToCamel, camelToSnake, suggestNearest, pyFloatRepr, type AdapterSpecChunk, type AdapterSpecChunkInput } from './config/spec-string';
export { parseLiteral, type PyValue } from './config/literal';
export { toPythonJson, configHash } from './config/python-json';
export { MethodRegistry, UNION_METHOD, snakeKey } from './config/registry';
export { KNOWN_CONFIG_PACKAGES } from './config/known-configs';
export {
  resolveAdapterConfig,
  buildConfig,
  validateUnion,
  type AdapterConfigInput,
  type FullConfig,
  type ResolvedMember,
  type UnionConfigInput,
} from './config/resolve';
export { adapterConfigToJson, adapterConfigFromJson, memberToJson, ADAPTER_FORMAT_VERSION, type ConfigJson } from './config/adapter-config-json';

export * from './nn/ops';
export { Rng, init } from './nn/init';

export * from './io/safetensors';
export { writeFileAtomic, writeFilesAtomic, recoverAtomicWrites } from './io/atomic';
export { readJsonObject, parseJsonObject } from './io/json';
export * from './io/source';
export type { HostFs } from './io/host-fs';
export { hostFs } from '#host-fs';
export { sha1Hex } from './config/sha1';
export {
  findWeightsFile,
  isTorchWeightsPath,
  readWeightsFile,
  serializeWeights,
  stateDictOrder,
  weightsFileReaders,
  WEIGHTS_FORMATS,
  type WeightsFileNames,
  type WeightsFileSpec,
  type WeightsFormat,
  type WeightsTensor,
} from './io/weights-file';

export * from './model/host';
export * from './model/inputs';
export * from './model/params';
export * from './model/adapter-model';
export * from './model/adapter-io';
export type { AdapterCompanion } from './model/adapter-companion';
export { averageAdapterParams, weightedSum, type AverageAdapterParamsOptions, type CombineParams } from './model/average';
export * from './model/summary';
