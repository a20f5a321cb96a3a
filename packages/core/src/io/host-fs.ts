/**
 * The host file system seen through one small interface, so that no module of the browser path imports `node:`.
 * The implementation is picked by the package's `#host-fs` import map: `host-fs.node.ts` under the `node` condition,
 * `host-fs.browser.ts` (every call throws `NO_FILESYSTEM`) everywhere else.
 *
 * @packageDocumentation
 */

/** File-system operations on plain paths (Node only; see {@link HostFs.available}). */
export interface HostFs {
  /** Whether paths can be used here (true in Node, false in browsers). */
  readonly available: boolean;
  /** The bytes of a file. @throws the platform's error when it cannot be read. */
  readFile(path: string): Promise<Uint8Array>;
  /** Whether `path` exists (file or folder). */
  exists(path: string): Promise<boolean>;
  /** Whether `path` is a folder. */
  isDirectory(path: string): Promise<boolean>;
  /** Names in a folder. */
  readdir(path: string): Promise<string[]>;
  /** Removes a file or folder (recursively); no error when absent. */
  rm(path: string): Promise<void>;
  /** Renames a file or folder. */
  rename(from: string, to: string): Promise<void>;
  /** Creates a folder and its parents. */
  mkdir(path: string): Promise<void>;
  /** Writes one file atomically (temp file, fsync, rename). */
  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void>;
  /** Writes several files into `dir` atomically (see `writeFilesAtomic` of `io/atomic`). */
  writeFilesAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void>;
  /** Finishes or cleans up interrupted atomic writes in `dir` (see `recoverAtomicWrites` of `io/atomic`). */
  recoverAtomicWrites(dir: string): Promise<boolean>;
  /** A suffix unique to this process and call, for temp names (`<pid>-<hex>`). */
  uniqueSuffix(): string;
}
