/**
 * Locating the weights file of a saved adapter, head or fusion directory.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../errors';

/** What {@link findWeightsFile} looks for. */
export interface WeightsFileSpec {
  /** File names to accept, in order of preference (safetensors files this library reads). */
  readonly candidates: readonly string[];
  /** The reference's torch-pickle file of the same weights (e.g. `pytorch_adapter.bin`), which cannot be read yet. */
  readonly torchFile: string;
  /** What the weights are, for messages (`adapter weights`). */
  readonly what: string;
  /** How to get a readable file when only `torchFile` is there (default: convert it to the first candidate). */
  readonly hint?: string;
}

/**
 * The path of the first of `spec.candidates` present in `dir`.
 *
 * @throws FileFormatError `UNSUPPORTED_WEIGHTS` when only the torch pickle is there, `MISSING_FILE` when nothing is;
 *   messages start with `dir`.
 */
export function findWeightsFile(dir: string, spec: WeightsFileSpec): string {
  for (const f of spec.candidates) if (existsSync(join(dir, f))) return join(dir, f);
  if (existsSync(join(dir, spec.torchFile))) {
    const hint = spec.hint ?? `convert it to ${spec.candidates[0]} (same keys)`;
    throw new FileFormatError('UNSUPPORTED_WEIGHTS', `${dir}: only ${spec.torchFile} found; reading torch pickles is not implemented yet — ${hint}`);
  }
  throw new FileFormatError('MISSING_FILE', `${dir}: no ${spec.what} (${spec.candidates.join(' or ')})`);
}
