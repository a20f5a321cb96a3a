/**
 * The single place where `@adapterkit/models` imports `@adapterkit/core`.
 *
 * @internal
 * @packageDocumentation
 */
export {
  ACTIVATION_NAMES,
  baseName,
  readBytes,
  refLabel,
  toFileRef,
  toSource,
  AdapterKitError,
  AdapterStateError,
  addAndNorm,
  dropout as dropoutOp,
  additiveMask,
  FileFormatError,
  getActivation,
  HOOK_POINTS,
  layerNorm,
  linear,
  MASK_NEGATIVE,
  MODEL_LEVEL_POINTS,
  NO_HOOKS,
  readJsonObject,
  readSafetensors,
  readWeightsFile,
  Rng,
  tensorEntryToTf,
  WeightsMismatchError,
} from '@adapterkit/core';
export type {
  Activation,
  FileRef,
  FileSource,
  SourceInput,
  HookPlacement,
  HookPoint,
  HookRunner,
  HostForwardOptions,
  HostInfo,
  KeyValueCache,
  KeyValuePayload,
  LayerNormFn,
  ModelInputs,
  ModelOutputs,
  ModuleSite,
  ParamLayout,
  SublayerPayload,
  TensorEntry,
  TransformerHost,
} from '@adapterkit/core';

/** One shape (or dtype) disagreement between the expected and the supplied weights. */
export interface WeightMismatch {
  readonly name: string;
  /** Expected file-layout shape. */
  readonly expected: readonly number[];
  /** Shape found in the file (or map). */
  readonly got: readonly number[];
  /** Set when the dtype is the problem (e.g. `I64` where float32 is required). */
  readonly dtype?: string;
}

/**
 * Structured details attached as `details` to the `WeightsMismatchError`s this package throws (core's class has
 * no such field; the message carries the same information).
 */
export interface WeightsMismatchDetails {
  /** Where the weights came from (file path or `'<memory>'`). */
  readonly source: string;
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly WeightMismatch[];
}
