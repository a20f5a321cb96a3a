/**
 * Plain zip archives of a folder of files (an AdapterHub folder a browser page downloads or a user drops in), on the
 * same validated zip reader and writer the torch checkpoints use.
 *
 * @packageDocumentation
 */
import { fail } from './errors';
import { readZipDirectory, readZipEntry, writeZip, type ZipLimits } from './zip';

export { isZip } from './zip';

const DEFAULT_LIMITS: ZipLimits = { maxEntries: 10_000, maxInflatedBytes: 2 ** 31, verifyCrc: true };

/**
 * Reads every file of a zip archive (stored or deflated entries; directory entries skipped).
 *
 * @param bytes - The whole archive.
 * @param source - Name for error messages.
 * @returns File path inside the archive (forward slashes) → bytes.
 * @throws TorchFormatError `TORCH_ZIP` (bad archive, CRC mismatch), `TORCH_LIMIT`, `TORCH_ENTRY`.
 */
export function readZipFiles(bytes: Uint8Array, source = '<zip>', limits: Partial<ZipLimits> = {}): Map<string, Uint8Array> {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const out = new Map<string, Uint8Array>();
  for (const [name, entry] of readZipDirectory(bytes, source, lim)) {
    if (name.endsWith('/')) continue;
    if (name.split('/').some((s) => s === '..')) fail('TORCH_ZIP', `${source}: zip entry ${JSON.stringify(name)} leaves the archive`);
    out.set(name, readZipEntry(bytes, entry, source, lim));
  }
  return out;
}

/**
 * Writes files into one zip archive (stored entries, readable by `unzip`, Python's `zipfile` and browsers' zip tools).
 *
 * @param files - Path inside the archive (forward slashes) → contents; strings are written as UTF-8.
 */
export function writeZipFiles(files: ReadonlyMap<string, Uint8Array | string> | Readonly<Record<string, Uint8Array | string>>): Uint8Array {
  const enc = new TextEncoder();
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  return writeZip(entries.map(([name, data]) => ({ name, data: typeof data === 'string' ? enc.encode(data) : data })));
}
