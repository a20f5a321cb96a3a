/**
 * Where saved files come from and go to, the same way in Node and in browsers. A {@link FileSource} is a folder of
 * files read by name: a Node path, a URL (read with `fetch`), a `Map`/record of bytes, a zip archive (`Blob`, `File`,
 * `ArrayBuffer` or `Uint8Array`), a list of dropped `File`s, or a `FileSystemDirectoryHandle`. Every loader
 * (`loadHost`, `loadAdapter`, `loadTokenizer`, heads, fusions) takes a {@link SourceInput}; every saver takes a
 * {@link SinkInput} (a Node path, a `Map` that receives the files, or a {@link FileSink}).
 *
 * @packageDocumentation
 */
import { isZip, readZipFiles, TorchFormatError } from '@adapterkit/torch-format';
import { hostFs } from '#host-fs';
import { AdapterKitError, FileFormatError } from '../errors';

/** A folder of files, read by name. */
export interface FileSource {
  /** What the folder is, for messages (a path, a URL, `<files>`). */
  readonly label: string;
  /** The bytes of `name` (a plain name or a `a/b` path inside the folder), or `undefined` when there is no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Whether `name` is a file in the folder. */
  has(name: string): Promise<boolean>;
  /** The sub-folder `name`. */
  dir(name: string): FileSource;
  /** Names of the files directly in the folder, where the source can list them (not over HTTP). */
  list?(): Promise<string[]>;
}

/** One file of a {@link FileSource}. */
export interface FileRef {
  readonly source: FileSource;
  readonly name: string;
}

/** The minimal shape of a `FileSystemDirectoryHandle` (File System Access API) that {@link toSource} reads. */
export interface DirectoryHandleLike {
  readonly kind: 'directory';
  readonly name: string;
  getDirectoryHandle(name: string): Promise<DirectoryHandleLike>;
  getFileHandle(name: string): Promise<{ getFile(): Promise<Blob> }>;
}

/** Bytes of one file in an in-memory folder. */
export type FileBytes = Uint8Array | ArrayBuffer | string | Blob;

/**
 * Anything a loader accepts as a folder: a Node path or a URL string (in a browser every string is a URL, relative
 * to the page), a `URL`, a {@link FileSource}, a `Map`/record of name → bytes (names may hold `/`), a zip archive of
 * the folder (`Blob`/`File`/`ArrayBuffer`/`Uint8Array`), a list of `File`s (their `webkitRelativePath` or name), or a
 * directory handle.
 */
export type SourceInput =
  | string
  | URL
  | FileSource
  | ReadonlyMap<string, FileBytes>
  | Readonly<Record<string, FileBytes>>
  | Blob
  | ArrayBuffer
  | Uint8Array
  | readonly File[]
  | DirectoryHandleLike;

/** Receives the files of one save, all at once. */
export interface FileSink {
  /** What the target is, for messages. */
  readonly label: string;
  write(files: Readonly<Record<string, Uint8Array | string>>): Promise<void>;
}

/** Where a saver writes: a Node path (written atomically), a `Map` that receives the files (as bytes), or a {@link FileSink}. */
export type SinkInput = string | Map<string, Uint8Array> | FileSink;

const URL_SCHEME = /^(https?|blob|data|file):/i;

/** `dir` + `/` + `name`, without doubled separators (paths and URLs alike). */
export function joinPath(dir: string, name: string): string {
  if (dir === '') return name;
  return `${dir.replace(/[\\/]+$/, '')}/${name.replace(/^\.\//, '')}`;
}

/** The last segment of a path or URL. */
export function baseName(path: string): string {
  const parts = path.replace(/[\\/]+$/, '').split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

/** The folder part of a path or URL (`.` when there is none). */
export function dirName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

/** `label/name` of a file, for messages (a path in Node, a URL in browsers). */
export function refLabel(ref: FileRef | string): string {
  return typeof ref === 'string' ? ref : joinPath(ref.source.label, ref.name);
}

/** A file given as a path (or URL) or as a {@link FileRef}, as a {@link FileRef}. */
export function toFileRef(file: FileRef | string): FileRef {
  if (typeof file !== 'string') return file;
  return { source: toSource(dirName(file)), name: baseName(file) };
}

/**
 * The bytes of a file.
 *
 * @throws FileFormatError `MISSING_FILE` naming the file when it is not there or cannot be read.
 */
export async function readBytes(file: FileRef | string): Promise<Uint8Array> {
  const ref = toFileRef(file);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await ref.source.read(ref.name);
  } catch (err) {
    throw new FileFormatError('MISSING_FILE', `${refLabel(ref)}: cannot read (${(err as Error).message})`, { cause: err });
  }
  if (bytes === undefined) throw new FileFormatError('MISSING_FILE', `${refLabel(ref)}: cannot read (no such file)`);
  return bytes;
}

/** The text (UTF-8) of a file. @throws FileFormatError `MISSING_FILE`. */
export async function readText(file: FileRef | string): Promise<string> {
  return new TextDecoder().decode(await readBytes(file));
}

/** A folder on disk (Node): reads with the host file system. */
export function pathSource(path: string): FileSource {
  return {
    label: path,
    read: async (name) => {
      const p = joinPath(path, name);
      if (!(await hostFs.exists(p)) || (await hostFs.isDirectory(p))) return undefined;
      return hostFs.readFile(p);
    },
    has: async (name) => {
      const p = joinPath(path, name);
      return (await hostFs.exists(p)) && !(await hostFs.isDirectory(p));
    },
    dir: (name) => pathSource(joinPath(path, name)),
    list: async () => ((await hostFs.isDirectory(path)) ? hostFs.readdir(path) : []),
  };
}

/** A folder served over HTTP(S) (or `file:`/`blob:` where `fetch` reads them): files are fetched on demand, once. */
export function urlSource(base: string | URL): FileSource {
  const root = String(base).replace(/\/+$/, '');
  const cache = new Map<string, Promise<Uint8Array | undefined>>();
  const read = (name: string): Promise<Uint8Array | undefined> => {
    let p = cache.get(name);
    if (!p) {
      p = (async () => {
        const res = await fetch(`${root}/${name}`);
        if (res.status === 404) return undefined;
        if (!res.ok) throw new AdapterKitError('FETCH_FAILED', `${root}/${name}: HTTP ${res.status} ${res.statusText}`);
        return new Uint8Array(await res.arrayBuffer());
      })();
      cache.set(name, p);
    }
    return p;
  };
  return { label: root, read, has: async (name) => (await read(name)) !== undefined, dir: (name) => urlSource(`${root}/${name}`) };
}

async function fileBytes(b: FileBytes): Promise<Uint8Array> {
  if (typeof b === 'string') return new TextEncoder().encode(b);
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  return new Uint8Array(await b.arrayBuffer());
}

/** A folder held in memory: name (with `/` for sub-folders) → bytes. A single top-level folder is looked through. */
export function filesSource(files: ReadonlyMap<string, FileBytes> | Readonly<Record<string, FileBytes>>, label = '<files>'): FileSource {
  const map = new Map<string, FileBytes>(files instanceof Map ? files : Object.entries(files));
  // A zip or a dropped folder usually holds one top folder (`my_adapter/adapter_config.json`): look through it.
  const tops = new Set([...map.keys()].map((k) => (k.includes('/') ? k.split('/')[0]! : '')));
  const prefix = tops.size === 1 && !tops.has('') ? `${[...tops][0]}/` : '';
  const at = (sub: string): FileSource => ({
    label: sub ? joinPath(label, sub.replace(/\/$/, '')) : label,
    read: async (name) => {
      const b = map.get(prefix + sub + name);
      return b === undefined ? undefined : fileBytes(b);
    },
    has: async (name) => map.has(prefix + sub + name),
    dir: (name) => at(`${sub}${name}/`),
    list: async () => [...map.keys()].filter((k) => k.startsWith(prefix + sub) && !k.slice((prefix + sub).length).includes('/')).map((k) => k.slice((prefix + sub).length)),
  });
  return at('');
}

/** A folder inside a zip archive (the download the playground makes, or any zip of an AdapterHub folder). */
export function zipSource(bytes: Uint8Array, label = '<zip>'): FileSource {
  try {
    return filesSource(readZipFiles(bytes, label), label);
  } catch (err) {
    if (err instanceof TorchFormatError) throw new FileFormatError('BAD_FORMAT', `${label}: not a readable zip archive (${err.message})`, { cause: err });
    throw err;
  }
}

function lazySource(label: string, open: () => Promise<FileSource>): FileSource {
  let p: Promise<FileSource> | undefined;
  const get = (): Promise<FileSource> => (p ??= open());
  const at = (path: string[]): FileSource => ({
    label: path.length ? joinPath(label, path.join('/')) : label,
    read: async (name) => (await get()).read([...path, name].join('/')),
    has: async (name) => (await get()).has([...path, name].join('/')),
    dir: (name) => at([...path, name]),
    list: async () => {
      const inner = (await get()).dir(path.join('/'));
      return path.length ? ((await inner.list?.()) ?? []) : ((await (await get()).list?.()) ?? []);
    },
  });
  return at([]);
}

/** A folder given as a `FileSystemDirectoryHandle` (the File System Access API's folder picker or a drop). */
export function directoryHandleSource(handle: DirectoryHandleLike, label = handle.name): FileSource {
  const resolve = async (name: string): Promise<Blob | undefined> => {
    const parts = name.split('/');
    let dir = handle;
    try {
      for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
      return await (await dir.getFileHandle(parts[parts.length - 1]!)).getFile();
    } catch (err) {
      if ((err as Error).name === 'NotFoundError' || (err as Error).name === 'TypeMismatchError') return undefined;
      throw err;
    }
  };
  const at = (sub: string): FileSource => ({
    label: sub ? joinPath(label, sub) : label,
    read: async (name) => {
      const f = await resolve(sub ? `${sub}/${name}` : name);
      return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
    },
    has: async (name) => (await resolve(sub ? `${sub}/${name}` : name)) !== undefined,
    dir: (name) => at(sub ? `${sub}/${name}` : name),
  });
  return at('');
}

function isSource(x: object): x is FileSource {
  return typeof (x as FileSource).read === 'function' && typeof (x as FileSource).dir === 'function' && typeof (x as FileSource).label === 'string';
}

/**
 * Any {@link SourceInput} as a {@link FileSource}.
 *
 * @throws FileFormatError `BAD_FORMAT` for a single `Blob`/buffer that is not a zip archive.
 */
export function toSource(input: SourceInput): FileSource {
  if (typeof input === 'string') {
    if (URL_SCHEME.test(input) && !(hostFs.available && /^file:/i.test(input))) return urlSource(input);
    if (hostFs.available) return pathSource(input);
    const base = (globalThis as { location?: { href: string } }).location?.href;
    return urlSource(base ? new URL(input, base).href : input);
  }
  if (input instanceof URL) return toSource(input.href);
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    if (!isZip(bytes)) throw new FileFormatError('BAD_FORMAT', '<buffer>: a single buffer must be a zip archive of the folder');
    return zipSource(bytes, '<zip>');
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const label = (input as File).name || '<blob>';
    return lazySource(label, async () => {
      const bytes = new Uint8Array(await input.arrayBuffer());
      if (!isZip(bytes)) throw new FileFormatError('BAD_FORMAT', `${label}: a single file must be a zip archive of the folder`);
      return zipSource(bytes, label);
    });
  }
  if (Array.isArray(input)) {
    const files = input as readonly File[];
    const map = new Map<string, FileBytes>(files.map((f) => [(f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, f]));
    return filesSource(map, '<files>');
  }
  if (input instanceof Map) return filesSource(input, '<files>');
  if ((input as DirectoryHandleLike).kind === 'directory' && typeof (input as DirectoryHandleLike).getFileHandle === 'function') {
    return directoryHandleSource(input as DirectoryHandleLike);
  }
  if (isSource(input as object)) return input as FileSource;
  return filesSource(input as Readonly<Record<string, FileBytes>>, '<files>');
}

/** The label of a source input, for messages, without reading anything. */
export function sourceLabel(input: SourceInput): string {
  return toSource(input).label;
}

/**
 * Writes the files of one save to `sink`: atomically into a Node folder, into a `Map` (strings become UTF-8 bytes;
 * earlier entries of the same names are replaced), or through a {@link FileSink}.
 */
export async function writeFiles(sink: SinkInput, files: Readonly<Record<string, Uint8Array | string>>): Promise<void> {
  if (typeof sink === 'string') return hostFs.writeFilesAtomic(sink, { ...files });
  if (sink instanceof Map) {
    const enc = new TextEncoder();
    for (const [k, v] of Object.entries(files)) sink.set(k, typeof v === 'string' ? enc.encode(v) : v);
    return;
  }
  return sink.write(files);
}

/** A {@link FileSink} that collects the files of several saves under prefixes (e.g. `my_adapter/…`), for one zip. */
export function prefixedSink(target: Map<string, Uint8Array>, prefix: string): FileSink {
  return { label: prefix, write: (files) => writeFiles(target, Object.fromEntries(Object.entries(files).map(([k, v]) => [joinPath(prefix, k), v]))) };
}

/** Label of a sink, for messages. */
export function sinkLabel(sink: SinkInput): string {
  return typeof sink === 'string' ? sink : sink instanceof Map ? '<files>' : sink.label;
}
