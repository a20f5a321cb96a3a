/**
 * {@link HostFs} where there is no file system (browsers, workers): every operation throws `NO_FILESYSTEM`, naming
 * the path, and telling the caller to pass a URL, `File`/`Blob`, a map of files or a directory handle instead.
 *
 * @packageDocumentation
 */
import { AdapterKitError } from '../errors';
import type { HostFs } from './host-fs';

function none(path: string): never {
  throw new AdapterKitError(
    'NO_FILESYSTEM',
    `${path}: file paths need Node; in a browser pass a URL, a File/Blob, a Map of files or a directory handle (see @adapterkit/core io/source)`,
  );
}

/** The browser's {@link HostFs}: unavailable. */
export const hostFs: HostFs = {
  available: false,
  readFile: async (p) => none(p),
  exists: async (p) => none(p),
  isDirectory: async (p) => none(p),
  readdir: async (p) => none(p),
  rm: async (p) => none(p),
  rename: async (p) => none(p),
  mkdir: async (p) => none(p),
  writeFileAtomic: async (p) => none(p),
  writeFilesAtomic: async (p) => none(p),
  recoverAtomicWrites: async (p) => none(p),
  uniqueSuffix: () => `${Date.now().toString(36)}-${Math.floor(performance.now() * 1000).toString(36)}`,
};
