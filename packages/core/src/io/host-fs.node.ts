/**
 * Atomic file writes: data goes to a temporary file in the target's directory,
 * is fsync'ed, and is then renamed over the target, so readers never observe a
 * half-written file.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
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
async function writeFilesAtomic(
  dir: string,
  files: Record<string, Uint8Array | string>,
): Promise<void> {
  const entries = Object.entries(files);
  for (const [name] of entries) {
    if (name === '' || name === '.' || name === '..' || name !== basename(name) || /[\\/]/.test(name)) {
      throw new AdapterKitError(
        'IO_INVALID_FILE_NAME',
        `writeFilesAtomic(${dir}): invalid file name ${JSON.stringify(name)} (must be a plain file name)`,
      );
    }
  }
  await mkdir(dir, { recursive: true });

  const pending = entries.map(([name, data]) => {
    const target = join(dir, name);
    return { target, tmp: tempPathFor(target), data };
  });
  const cleanup = (items: typeof pending): Promise<unknown> =>
    Promise.all(items.map((p) => rm(p.tmp, { force: true }).catch(() => undefined)));

  const results = await Promise.allSettled(pending.map((p) => writeTempFile(p.tmp, p.data)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await cleanup(pending);
    throw failed.reason;
  }

  for (let i = 0; i < pending.length; i++) {
    const p = pending[i]!;
    try {
      await rename(p.tmp, p.target);
    } catch (err) {
      await cleanup(pending.slice(i));
      throw err;
    }
  }
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
  uniqueSuffix: () => `${process.pid}-${randomBytes(4).toString('hex')}`,
};
