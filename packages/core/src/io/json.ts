/**
 * Reading JSON config files (`adapter_config.json`, `head_config.json`, `adapter_fusion_config.json`, PEFT's
 * `adapter_config.json`) with typed errors that name the file.
 *
 * @packageDocumentation
 */
import { FileFormatError } from '../errors';
import { findJsonDepthExcess, MAX_JSON_DEPTH } from './json-limits';
import { readText, refLabel, type FileRef } from './source';

/**
 * Read a JSON file whose top level must be an object.
 *
 * @param file - The file: a path (a URL in browsers) or a file of a {@link FileSource}.
 * @returns The parsed object.
 * @throws FileFormatError `MISSING_FILE` when the file cannot be read; `BAD_JSON` when it is not valid JSON or its
 *   top level is not an object. Every message starts with `path`.
 */
export async function readJsonObject(file: string | FileRef): Promise<Record<string, unknown>> {
  const path = refLabel(file);
  const text = await readText(file);
  return parseJsonObject(text, path);
}

/**
 * Parse JSON text whose top level must be an object (what {@link readJsonObject} does after reading the file).
 * Nesting deeper than 64 levels is refused before parsing.
 *
 * @param text - The JSON text.
 * @param source - Names the text in messages (a file path).
 * @throws FileFormatError `BAD_JSON` when it is not valid JSON, nests too deep, or its top level is not an object.
 */
export function parseJsonObject(text: string, source: string): Record<string, unknown> {
  const path = source;
  const deep = findJsonDepthExcess(text, MAX_JSON_DEPTH);
  if (deep >= 0) {
    throw new FileFormatError('BAD_JSON', `${path}: invalid JSON (nested deeper than ${MAX_JSON_DEPTH} levels at position ${deep})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError('BAD_JSON', `${path}: invalid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FileFormatError('BAD_JSON', `${path}: invalid JSON (expected an object at the top level, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  }
  return value as Record<string, unknown>;
}
