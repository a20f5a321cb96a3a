/**
 * Atomic file writes: data goes to a temporary file in the target's directory,
 * is fsync'ed, and is then renamed over the target, so readers never observe a
 * half-written file.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AdapterKitError } from '../errors';
import type { HostFs } from './host-fs';

/** Builds a unique temp path next to `path` (same directory, so `rename` stays atomic). */
function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes `data` to `tmp` (which must not exist yet) and fsyncs it. Removes `tmp` on failure. */
async function writeTempFile(tmp: string, data: Uint8Array | string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(tmp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Best-effort fsync of a directory so a completed rename survives a crash (no-op where unsupported). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Directory fsync is not supported on every platform (e.g. Windows); durability is best effort.
  }
}

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
async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  await writeTempFile(tmp, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}

/**
 * Commit records {@link writeFilesAtomic} writes while it renames a set of files into place:
 * `.adapterkit-commit-<pid>-<12 hex>.json`.
 */
const ATOMIC_COMMIT_RE = /^\.adapterkit-commit-(\d+)-[0-9a-f]{12}\.json$/;

/** Temp files this module creates: `<name>.tmp-<pid>-<12 hex>`. */
const TEMP_RE = /\.tmp-(\d+)-[0-9a-f]{12}$/;

interface CommitRecord {
  version: 1;
  renames: { tmp: string; target: string }[];
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && name === basename(name) && !/[\\/]/.test(name);
}

/**
 * Finishes or cleans up what an interrupted {@link writeFilesAtomic} / {@link writeFileAtomic} (a killed process)
 * left in `dir`:
 * - a commit record (see `ATOMIC_COMMIT_RE`) of a writer no longer running means every new file was complete on disk before the kill: the
 *   remaining renames are done (roll forward), then the record is removed, so the folder holds the new set;
 * - temp files of writers that are no longer running are removed (a write that never reached its commit record
 *   leaves the old files untouched).
 *
 * Called by {@link writeFilesAtomic} before it writes and by the loaders before they read. A missing `dir` is not an
 * error (nothing to do).
 *
 * @param dir - The folder.
 * @returns Whether anything was changed.
 */
async function recoverAtomicWrites(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return false;
  }
  let changed = false;
  const committed = new Set<string>();
  for (const recordName of names) {
    const rec = ATOMIC_COMMIT_RE.exec(recordName);
    if (!rec || isProcessAlive(Number(rec[1]))) continue;
    const recordPath = join(dir, recordName);
    let record: CommitRecord | undefined;
    try {
      const parsed = JSON.parse(await readFile(recordPath, 'utf8')) as Partial<CommitRecord>;
      if (parsed.version === 1 && Array.isArray(parsed.renames)) record = parsed as CommitRecord;
    } catch {
      record = undefined;
    }
    for (const { tmp, target } of record?.renames ?? []) {
      if (typeof tmp !== 'string' || typeof target !== 'string' || !isPlainName(tmp) || !isPlainName(target)) continue;
      if (!TEMP_RE.test(tmp)) continue;
      committed.add(tmp);
      if (names.includes(tmp)) await rename(join(dir, tmp), join(dir, target));
    }
    await syncDir(dir);
    await rm(recordPath, { force: true });
    changed = true;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || committed.has(name)) continue;
    if (isProcessAlive(Number(m[1]))) continue;
    await rm(join(dir, name), { force: true }).catch(() => undefined);
    changed = true;
  }
  if (changed) await syncDir(dir);
  return changed;
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
async function writeFilesAtomic(
  dir: string,
  files: Record<string, Uint8Array | string>,
): Promise<void> {
  const entries = Object.entries(files);
  for (const [name] of entries) {
    if (!isPlainName(name) || ATOMIC_COMMIT_RE.test(name)) {
      throw new AdapterKitError(
        'IO_INVALID_FILE_NAME',
        `writeFilesAtomic(${dir}): invalid file name ${JSON.stringify(name)} (must be a plain file name)`,
      );
    }
  }
  await mkdir(dir, { recursive: true });
  await recoverAtomicWrites(dir);

  const pending = entries.map(([name, data]) => {
    const target = join(dir, name);
    return { name, target, tmp: tempPathFor(target), data };
  });
  const cleanup = (items: typeof pending): Promise<unknown> =>
    Promise.all(items.map((p) => rm(p.tmp, { force: true }).catch(() => undefined)));

  const results = await Promise.allSettled(pending.map((p) => writeTempFile(p.tmp, p.data)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await cleanup(pending);
    throw failed.reason;
  }
  for (const p of pending) {
    const st = await lstat(p.target).catch(() => undefined);
    if (st?.isDirectory()) {
      await cleanup(pending);
      throw new AdapterKitError('IO_TARGET_IS_DIRECTORY', `writeFilesAtomic(${dir}): ${p.target} is a directory`);
    }
  }

  const record: CommitRecord = { version: 1, renames: pending.map((p) => ({ tmp: basename(p.tmp), target: p.name })) };
  const recordPath = join(dir, `.adapterkit-commit-${process.pid}-${randomBytes(6).toString('hex')}.json`);
  try {
    await writeFileAtomic(recordPath, JSON.stringify(record));
  } catch (err) {
    await cleanup(pending);
    throw err;
  }
  // From here on the new set is committed: an interrupted rename loop is finished by recoverAtomicWrites.
  for (const p of pending) await rename(p.tmp, p.target);
  await syncDir(dir);
  await rm(recordPath, { force: true });
  await syncDir(dir);
}

/** Node's {@link HostFs}. */
export const hostFs: HostFs = {
  available: true,
  readFile: async (p) => new Uint8Array(await readFile(p)),
  exists: async (p) => stat(p).then(() => true, () => false),
  isDirectory: async (p) => stat(p).then((s) => s.isDirectory(), () => false),
  readdir: (p) => readdir(p),
  rm: (p) => rm(p, { recursive: true, force: true }),
  rename: (a, b) => rename(a, b),
  mkdir: async (p) => {
    await mkdir(p, { recursive: true });
  },
  writeFileAtomic,
  writeFilesAtomic,
  recoverAtomicWrites,
  uniqueSuffix: () => `${process.pid}-${randomBytes(4).toString('hex')}`,
};
