/**
 * Atomic file writes: data goes to a temporary file in the target's directory,
 * is fsync'ed, and is then renamed over the target, so readers never observe a
 * half-written file. Node only: the implementation lives in `host-fs.node.ts`; in a browser these throw
 * `NO_FILESYSTEM` (write to a Map or a {@link FileSink} with `writeFiles` instead).
 *
 * @packageDocumentation
 */
import { hostFs } from '#host-fs';

/**
 * Atomically writes `data` to `path`.
 *
 * The bytes are first written to `${path}.tmp-${pid}-${random}` in the same
 * directory, fsync'ed, then renamed over `path`. On any failure the temp file
 * is removed and the original error is rethrown; `path` is then either left
 * untouched or (if it did not exist) still absent. The parent directory must
 * already exist.
 *
 * @param path - Destination file path.
 * @param data - File contents; strings are written as UTF-8.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  return hostFs.writeFileAtomic(path, data);
}

/**
 * Atomically writes several files into `dir` (created recursively if needed).
 *
 * Every file is first written and fsync'ed to its own temp file; only when all
 * temp files exist are they renamed into place. If any temp write fails, all
 * temp files are removed and no target is touched. Each individual file is
 * replaced atomically, but the set as a whole is not transactional: if a
 * rename fails part-way, earlier renames stay in place and the remaining temp
 * files are removed before the error is rethrown.
 *
 * @param dir - Destination directory.
 * @param files - Map of plain file name (no path separators) to contents.
 * @throws AdapterKitError with code `IO_INVALID_FILE_NAME` for an empty name,
 *   `.`/`..`, or a name containing a path separator.
 */
export function writeFilesAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  return hostFs.writeFilesAtomic(dir, files);
}
