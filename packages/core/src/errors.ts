/**
 * Typed errors of AdapterKit. Every error carries a stable `code` so callers (and the CLI) can react to a
 * class of failure without matching on message text.
 */
export class AdapterKitError extends Error {
  /** Stable machine-readable error code, e.g. `UNKNOWN_METHOD`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A safetensors file (or buffer) is malformed; the message names the file and the key or offset at fault. */
export class SafetensorsError extends AdapterKitError {}

/** A config names a method that is not installed in the model, or a config is invalid. */
export class AdapterConfigError extends AdapterKitError {}

/** An adapter name is unknown, duplicated, or an operation does not apply to it. */
export class AdapterStateError extends AdapterKitError {}

/** A host model lacks a capability (hook point) that a method or composition block needs. */
export class CapabilityError extends AdapterKitError {}

/** Weights do not match what a model or adapter expects (missing, unexpected, wrong shape). */
export class WeightsMismatchError extends AdapterKitError {}

/** A file on disk is missing or unreadable in the expected format. */
export class FileFormatError extends AdapterKitError {}

/**
 * A torch checkpoint (`.bin`) that cannot be read or written: the `@adapterkit/torch-format` error with the same
 * `code` (`TORCH_ZIP`, `TORCH_PICKLE`, `TORCH_GLOBAL`, `TORCH_LIMIT`, …; `TORCH_IO` when the file cannot be read) as
 * `cause`.
 */
export class TorchCheckpointError extends AdapterKitError {}
