/**
 * The one error type of this package. It does not depend on `@adapterkit/core`; core wraps it in its own
 * `AdapterKitError` subclass (same `code`, this error as `cause`).
 *
 * @packageDocumentation
 */

/**
 * Codes carried by {@link TorchFormatError}:
 * - `TORCH_ZIP`: the zip container is malformed (directory, headers, sizes, bad compression data, CRC).
 * - `TORCH_ENTRY`: a zip entry is missing (`data.pkl`, a storage record) or duplicated.
 * - `TORCH_LIMIT`: a limit was exceeded (sizes vs file size, memo, stack depth, string length, entry size).
 * - `TORCH_PICKLE`: the pickle stream is malformed (truncated, unknown opcode, stack underflow, bad types).
 * - `TORCH_GLOBAL`: the pickle names a global outside the allow-list (the message names it); nothing is called.
 * - `TORCH_LEGACY`: the legacy (non-zip) format is malformed (magic number, protocol, storage table).
 * - `TORCH_STORAGE`: a storage is malformed (unknown type, size mismatch, shared storages of different types).
 * - `TORCH_TENSOR`: a tensor's size/stride/offset lies outside its storage, or its dtype is not supported.
 * - `TORCH_VALUE`: an integer value does not fit in int32, or the checkpoint is not a flat state dict of tensors.
 * - `TORCH_SERIALIZE`: invalid input to the writer.
 */
export type TorchFormatErrorCode =
  | 'TORCH_ZIP'
  | 'TORCH_ENTRY'
  | 'TORCH_LIMIT'
  | 'TORCH_PICKLE'
  | 'TORCH_GLOBAL'
  | 'TORCH_LEGACY'
  | 'TORCH_STORAGE'
  | 'TORCH_TENSOR'
  | 'TORCH_VALUE'
  | 'TORCH_SERIALIZE';

/** A malformed or refused torch checkpoint (reading), or invalid tensors (writing). The message starts with the source. */
export class TorchFormatError extends Error {
  /** Stable machine-readable code, see {@link TorchFormatErrorCode}. */
  readonly code: TorchFormatErrorCode;
  constructor(code: TorchFormatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchFormatError';
    this.code = code;
  }
}

/** Appended to the errors a cut-off or damaged download produces (the exact detail stays first). */
export const TRUNCATED_HINT = 'the file is truncated or corrupt: download it again';

/** Codes whose errors mean the bytes are damaged (vs. refused or unsupported content). */
const DAMAGE_CODES: ReadonlySet<TorchFormatErrorCode> = new Set(['TORCH_ZIP', 'TORCH_ENTRY', 'TORCH_PICKLE', 'TORCH_LEGACY']);

/**
 * Throws a {@link TorchFormatError}. Errors that mean damaged bytes (a malformed zip, pickle or legacy stream, a
 * missing entry, data past the end of the file) end with {@link TRUNCATED_HINT}.
 */
export function fail(code: TorchFormatErrorCode, message: string, cause?: unknown): never {
  const damaged = DAMAGE_CODES.has(code) || / past the end /.test(message);
  throw new TorchFormatError(code, damaged ? `${message}; ${TRUNCATED_HINT}` : message, cause === undefined ? undefined : { cause });
}
