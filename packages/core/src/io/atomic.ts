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
 * Commit records {@link writeFilesAtomic} writes while it renames a set of files into place:
 * `.adapterkit-commit-<pid>-<12 hex>.json`.
 */
export const ATOMIC_COMMIT_RE = /^\.adapterkit-commit-(\d+)-[0-9a-f]{12}\.json$/;

/**
 * Finishes or cleans up what an interrupted {@link writeFilesAtomic} / {@link writeFileAtomic} (a killed process)
 * left in `dir`:
 * - a commit record (see `ATOMIC_COMMIT_RE`) of a writer no longer running means every new file was complete
 *   on disk before the kill: the remaining renames are done (roll forward), then the record is removed, so the folder
 *   holds the new set;
 * - temp files of writers that are no longer running are removed (a write that never reached its commit record
 *   leaves the old files untouched).
 *
 * Called by {@link writeFilesAtomic} before it writes and by the loaders before they read. A missing `dir` is not an
 * error (nothing to do).
 *
 * @param dir - The folder.
 * @returns Whether anything was changed.
 */
export function recoverAtomicWrites(dir: string): Promise<boolean> {
  return hostFs.recoverAtomicWrites(dir);
}

/**
 * Atomically writes several files into `dir` (created recursively if needed): after a crash or kill at any point,
 * the folder holds either the complete old set or the complete new set of these files (once
 * {@link recoverAtomicWrites} has run, as every later write and our loaders do).
 *
 * Steps: finish/clean up leftovers of earlier interrupted writes; write and fsync every file to its own temp file;
 * write a commit record (see `ATOMIC_COMMIT_RE`; itself atomically) listing the renames; rename the temp
 * files into place; remove the record. A kill before the record exists leaves the old files (and temp files that
 * the next recovery removes); a kill after it is rolled forward to the new files. If a temp write fails, all temp
 * files are removed and no target is touched; targets that are directories are refused before anything is
 * committed. Other files in `dir` are left alone.
 *
 * @param dir - Destination directory.
 * @param files - Map of plain file name (no path separators) to contents.
 * @throws AdapterKitError with code `IO_INVALID_FILE_NAME` for an empty name,
 *   `.`/`..`, a name containing a path separator, or a commit record's name; `IO_TARGET_IS_DIRECTORY` when a
 *   target exists as a directory.
 */
export function writeFilesAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  return hostFs.writeFilesAtomic(dir, files);
}
