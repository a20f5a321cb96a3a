/**
 * Reading torch checkpoints (`torch.save` of a state dict) in both formats `torch.save` has used:
 * - zip (torch ≥ 1.6): `<archive>/data.pkl`, `<archive>/data/<key>` storage records, `version`, optional `byteorder`;
 * - legacy: pickles of the magic number, the protocol version and the sys info, the state-dict pickle, the list of
 *   storage keys, then each storage as an int64 element count followed by its raw bytes.
 *
 * Everything is validated before a tensor buffer is allocated: the zip directory, the pickle (restricted
 * unpickler: see `pickle.ts`), every storage's size against its record and the file, and every tensor's size,
 * stride and offset against its storage.
 *
 * @packageDocumentation
 */
import { fail } from './errors';
import { PyDevice, PyGlobal, PyTuple, STORAGE_DTYPES, TensorRef, unpickle, type PickleLimits } from './pickle';
import { isZip, readZipDirectory, readZipEntry, type ZipLimits } from './zip';

/** Dtypes of torch storages this reader decodes (safetensors' names). */
export type TorchDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * One tensor of a checkpoint. `dtype` is the dtype in the file; `data` holds `product(shape)` elements in row-major
 * order: floats (F64/F32/F16/BF16) as `Float32Array`, I64/I32/I16/I8 as `Int32Array` (I64 values must fit),
 * U8/BOOL as `Uint8Array`. Keys that alias one tensor in the file (same storage, offset, size and stride) share
 * one `data` array here too, so writing them back keeps them tied.
 */
export interface TorchTensor {
  dtype: TorchDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** A read checkpoint: the state dict's tensors in the file's key order. */
export interface TorchCheckpoint {
  format: 'zip' | 'legacy';
  tensors: Map<string, TorchTensor>;
}

/** Limits of {@link parseTorchCheckpoint}; every one is checked before the memory it guards is allocated. */
export interface TorchReadOptions {
  /** Most pickle memo entries. Default 1,000,000. */
  maxMemo?: number;
  /** Deepest nesting of pickle containers under construction. Default 64. */
  maxDepth?: number;
  /** Most values on the pickle stack. Default 1,000,000. */
  maxStack?: number;
  /** Longest string or bytes value in a pickle. Default 1 MiB. */
  maxStringBytes?: number;
  /** Most zip entries. Default 1,000,000. */
  maxEntries?: number;
  /** Largest uncompressed size of one deflated zip entry. Default 4 GiB. */
  maxInflatedBytes?: number;
  /** Check each zip entry's CRC-32. Default true. */
  verifyCrc?: boolean;
}

const ELEM: Readonly<Record<TorchDtype, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A root storage: its raw bytes once located, its decoded elements once a tensor needs them. */
interface Storage {
  key: string;
  dtype: TorchDtype;
  numel: number;
  raw?: Uint8Array;
  decoded?: Float32Array | Int32Array | Uint8Array;
}

/** What a persistent id resolves to: a root storage, or an element range of one (legacy views). */
class StorageView {
  constructor(
    readonly root: Storage,
    readonly offset: number,
    readonly numel: number,
  ) {}
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function storageDtype(t: unknown, where: string, at: number): TorchDtype {
  if (!(t instanceof PyGlobal) || !(t.module === 'torch' || t.module === 'torch.storage') || !Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, t.name)) {
    fail('TORCH_STORAGE', `${where}: persistent id at byte ${at} names ${String(t)} as its storage type, not a torch storage class`);
  }
  return STORAGE_DTYPES[t.name] as TorchDtype;
}

/** The persistent-id resolver of both formats: records storages, checks a key is always used with one type and size. */
function storageTable(where: string, legacy: boolean) {
  const roots = new Map<string, Storage>();
  const load = (pid: unknown, at: number): StorageView => {
    const items = pid instanceof PyTuple ? pid.items : undefined;
    const arity = legacy ? 6 : 5;
    if (!items || items.length !== arity || items[0] !== 'storage') {
      fail('TORCH_STORAGE', `${where}: persistent id at byte ${at} is not a ('storage', type, key, location, numel${legacy ? ', view' : ''}) tuple`);
    }
    const [, type, key, location, numel] = items;
    const dtype = storageDtype(type, where, at);
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) fail('TORCH_STORAGE', `${where}: storage key at byte ${at} is not a short string`);
    if (typeof location !== 'string' && !(location instanceof PyDevice)) fail('TORCH_STORAGE', `${where}: storage ${JSON.stringify(key)} has no location string (byte ${at})`);
    if (!isCount(numel)) fail('TORCH_STORAGE', `${where}: storage ${JSON.stringify(key)} has size ${String(numel)}, not a non-negative integer (byte ${at})`);
    let root = roots.get(key);
    if (root === undefined) {
      root = { key, dtype, numel };
      roots.set(key, root);
    } else if (root.dtype !== dtype || root.numel !== numel) {
      fail('TORCH_STORAGE', `${where}: storage ${JSON.stringify(key)} is used as ${root.dtype}×${root.numel} and as ${dtype}×${numel} (byte ${at})`);
    }
    const view = legacy ? items[5] : null;
    if (view === null) return new StorageView(root, 0, numel);
    const v = view instanceof PyTuple ? view.items : [];
    if (v.length !== 3 || !isCount(v[1]) || !isCount(v[2]) || v[1] + v[2] > numel) {
      fail('TORCH_STORAGE', `${where}: storage ${JSON.stringify(key)} has a view that is not (key, offset, size) within its ${numel} elements (byte ${at})`);
    }
    return new StorageView(root, v[1] as number, v[2] as number);
  };
  return { roots, load };
}

function f16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes a root storage's raw little-endian bytes. */
function decode(s: Storage, where: string): Float32Array | Int32Array | Uint8Array {
  if (s.decoded) return s.decoded;
  const raw = s.raw!;
  const n = s.numel;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let out: Float32Array | Int32Array | Uint8Array;
  switch (s.dtype) {
    case 'F32':
      out = new Float32Array(n);
      if (HOST_LE) new Uint8Array(out.buffer).set(raw.subarray(0, n * 4));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(i * 8, true);
        const hi = view.getInt32(i * 8 + 4, true);
        if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
          fail('TORCH_VALUE', `${where}: storage ${JSON.stringify(s.key)} element ${i} = ${view.getBigInt64(i * 8, true)} does not fit in int32`);
        }
        out[i] = lo | 0;
      }
      break;
    case 'I32':
      out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I16':
      out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'I8':
      out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      out = raw.slice(0, n);
      break;
  }
  s.decoded = out;
  return out;
}

function dims(v: unknown): number[] | undefined {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || items.length > 64 || !items.every(isCount)) return undefined;
  return items as number[];
}

/** Validates every tensor's view of its storage and the total it will allocate, before decoding anything. */
function checkTensors(state: unknown, where: string, storageElems: number): [string, TensorRef, number[], number[], number][] {
  if (!(state instanceof Map)) fail('TORCH_VALUE', `${where}: the checkpoint is not a state dict (a dict of tensors)`);
  const out: [string, TensorRef, number[], number[], number][] = [];
  let total = 0;
  const budget = 4 * storageElems + (1 << 20);
  for (const [key, value] of state) {
    if (typeof key !== 'string') fail('TORCH_VALUE', `${where}: state-dict key ${String(key)} is not a string`);
    const what = `${where}: tensor ${JSON.stringify(key)}`;
    if (!(value instanceof TensorRef)) fail('TORCH_VALUE', `${what} is not a tensor`);
    if (!(value.storage instanceof StorageView)) fail('TORCH_TENSOR', `${what} has no storage (byte ${value.at})`);
    const size = dims(value.size);
    const stride = dims(value.stride);
    if (!size || !stride || size.length !== stride.length) fail('TORCH_TENSOR', `${what} has size ${String(value.size)} / stride ${String(value.stride)} that are not matching tuples of non-negative integers`);
    if (!isCount(value.offset)) fail('TORCH_TENSOR', `${what} has storage offset ${String(value.offset)}`);
    let numel = 1;
    for (const d of size) {
      numel *= d;
      if (numel > Number.MAX_SAFE_INTEGER) fail('TORCH_TENSOR', `${what} has too many elements`);
    }
    if (numel > 0) {
      let last = value.offset;
      for (let i = 0; i < size.length; i++) last += (size[i]! - 1) * stride[i]!;
      if (last >= value.storage.numel) {
        fail('TORCH_TENSOR', `${what} (size [${size.join(', ')}], stride [${stride.join(', ')}], offset ${value.offset}) reaches element ${last} of a storage of ${value.storage.numel}`);
      }
    }
    total += numel;
    if (total > budget) fail('TORCH_LIMIT', `${what}: the tensors hold ${total} elements, more than 4× their storages (${storageElems}); stride-0 views this large are refused`);
    out.push([key, value, size, stride, numel]);
  }
  return out;
}

function gather(key: string, ref: TensorRef, size: number[], stride: number[], numel: number, where: string): TorchTensor {
  const view = ref.storage as StorageView;
  const src = decode(view.root, `${where}: tensor ${JSON.stringify(key)}`);
  const base = view.offset + (ref.offset as number);
  const dtype = view.root.dtype;
  let contiguous = true;
  for (let i = size.length - 1, s = 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== s) contiguous = false;
    s *= size[i]!;
  }
  const shape = size.slice();
  if (contiguous || numel === 0) return { dtype, shape, data: src.slice(base, base + numel) };
  const out = new (src.constructor as Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor)(numel);
  const rank = size.length;
  const idx = new Array<number>(rank).fill(0);
  let off = base;
  for (let i = 0; i < numel; i++) {
    out[i] = src[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += stride[d]!;
      if (idx[d]! < size[d]!) break;
      off -= idx[d]! * stride[d]!;
      idx[d] = 0;
    }
  }
  return { dtype, shape, data: out };
}

function limitsOf(opts: TorchReadOptions | undefined): PickleLimits & ZipLimits {
  return {
    maxMemo: opts?.maxMemo ?? 1_000_000,
    maxDepth: opts?.maxDepth ?? 64,
    maxStack: opts?.maxStack ?? 1_000_000,
    maxStringBytes: opts?.maxStringBytes ?? 1 << 20,
    maxEntries: opts?.maxEntries ?? 1_000_000,
    maxInflatedBytes: opts?.maxInflatedBytes ?? 4 * 2 ** 30,
    verifyCrc: opts?.verifyCrc ?? true,
  };
}

function finish(format: 'zip' | 'legacy', state: unknown, roots: Map<string, Storage>, where: string): TorchCheckpoint {
  let elems = 0;
  for (const r of roots.values()) elems += r.numel;
  const checked = checkTensors(state, where, elems);
  const tensors = new Map<string, TorchTensor>();
  const same = new Map<string, TorchTensor>();
  for (const [key, ref, size, stride, numel] of checked) {
    const view = ref.storage as StorageView;
    const sig = `${view.root.key}|${view.offset + (ref.offset as number)}|${size.join(',')}|${stride.join(',')}`;
    const prev = same.get(sig);
    if (prev) {
      tensors.set(key, { dtype: prev.dtype, shape: prev.shape.slice(), data: prev.data });
      continue;
    }
    const t = gather(key, ref, size, stride, numel, where);
    same.set(sig, t);
    tensors.set(key, t);
  }
  return { format, tensors };
}

function parseZip(bytes: Uint8Array, source: string, limits: PickleLimits & ZipLimits): TorchCheckpoint {
  const entries = readZipDirectory(bytes, source, limits);
  const first = entries.keys().next();
  const slash = first.done ? -1 : first.value.indexOf('/');
  if (slash < 0) fail('TORCH_ENTRY', `${source}: zip has no <archive>/data.pkl (is it a torch checkpoint?)`);
  const prefix = (first.value as string).slice(0, slash + 1);
  const pklEntry = entries.get(`${prefix}data.pkl`);
  if (!pklEntry) fail('TORCH_ENTRY', `${source}: zip has no ${prefix}data.pkl`);
  const order = entries.get(`${prefix}byteorder`);
  if (order) {
    const b = new TextDecoder().decode(readZipEntry(bytes, order, source, limits));
    if (b !== 'little') fail('TORCH_ZIP', `${source}: byteorder ${JSON.stringify(b.slice(0, 16))} is not read (only little)`);
  }
  const where = `${source}: ${prefix}data.pkl`;
  const pkl = readZipEntry(bytes, pklEntry, source, limits);
  const table = storageTable(where, false);
  const { value, end } = unpickle(pkl, 0, where, limits, table.load);
  if (end !== pkl.length) fail('TORCH_PICKLE', `${where}: ${pkl.length - end} bytes after the pickle's STOP`);
  let total = 0;
  for (const s of table.roots.values()) {
    const name = `${prefix}data/${s.key}`;
    const e = entries.get(name);
    if (!e) fail('TORCH_ENTRY', `${source}: storage ${JSON.stringify(s.key)} has no record ${name}`);
    const nbytes = s.numel * ELEM[s.dtype];
    if (e.size !== nbytes) fail('TORCH_STORAGE', `${source}: record ${name} holds ${e.size} bytes, storage ${JSON.stringify(s.key)} needs ${s.numel} × ${ELEM[s.dtype]} = ${nbytes}`);
    total += e.compressedSize;
    if (total > bytes.length) fail('TORCH_LIMIT', `${source}: the storages need more bytes than the file has (${bytes.length})`);
  }
  for (const s of table.roots.values()) s.raw = readZipEntry(bytes, entries.get(`${prefix}data/${s.key}`)!, source, limits);
  return finish('zip', value, table.roots, where);
}

function parseLegacy(bytes: Uint8Array, source: string, limits: PickleLimits): TorchCheckpoint {
  if (bytes.length < 2 || bytes[0] !== 0x80) fail('TORCH_LEGACY', `${source}: neither a zip nor a legacy torch checkpoint (no pickle at byte 0)`);
  const magic = unpickle(bytes, 0, `${source}: magic number`, limits);
  if (magic.value !== LEGACY_MAGIC) fail('TORCH_LEGACY', `${source}: the first pickle is not torch's magic number (not a torch checkpoint)`);
  const proto = unpickle(bytes, magic.end, `${source}: protocol version`, limits);
  if (proto.value !== LEGACY_PROTOCOL) fail('TORCH_LEGACY', `${source}: legacy protocol version ${String(proto.value)} is not read (${LEGACY_PROTOCOL} is)`);
  const info = unpickle(bytes, proto.end, `${source}: sys info`, limits);
  if (!(info.value instanceof Map)) fail('TORCH_LEGACY', `${source}: sys info is not a dict`);
  if (info.value.get('little_endian') === false) fail('TORCH_LEGACY', `${source}: big-endian legacy checkpoints are not read`);
  const where = `${source}: state-dict pickle`;
  const table = storageTable(where, true);
  const main = unpickle(bytes, info.end, where, limits, table.load);
  const keysP = unpickle(bytes, main.end, `${source}: storage key list`, limits);
  const keys = keysP.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail('TORCH_LEGACY', `${source}: the storage key list is not a list of strings`);
  const seen = new Set<string>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keysP.end;
  for (const key of keys as string[]) {
    if (seen.has(key)) fail('TORCH_ENTRY', `${source}: storage ${JSON.stringify(key)} is listed twice`);
    seen.add(key);
    const s = table.roots.get(key);
    if (!s) fail('TORCH_ENTRY', `${source}: storage ${JSON.stringify(key)} is listed but no tensor uses it`);
    if (p + 8 > bytes.length) fail('TORCH_LEGACY', `${source}: file ends before the size of storage ${JSON.stringify(key)} (byte ${p})`);
    const n = view.getBigInt64(p, true);
    if (n !== BigInt(s.numel)) fail('TORCH_STORAGE', `${source}: storage ${JSON.stringify(key)} at byte ${p} holds ${n} elements, the pickle says ${s.numel}`);
    p += 8;
    const nbytes = s.numel * ELEM[s.dtype];
    if (p + nbytes > bytes.length) fail('TORCH_LIMIT', `${source}: storage ${JSON.stringify(key)} needs ${nbytes} bytes at byte ${p}, past the end of the file (${bytes.length})`);
    s.raw = bytes.subarray(p, p + nbytes);
    p += nbytes;
  }
  for (const s of table.roots.values()) if (!seen.has(s.key)) fail('TORCH_ENTRY', `${source}: storage ${JSON.stringify(s.key)} is used but not in the storage list`);
  return finish('legacy', main.value, table.roots, where);
}

/**
 * Parses a torch checkpoint held in memory (zip or legacy format, detected from the first bytes).
 *
 * Nothing in the file is executed: the pickle is read by a restricted unpickler that refuses any global outside
 * {@link ALLOWED_GLOBALS} (code `TORCH_GLOBAL`, the message names it). Tensors are returned as fresh arrays in the
 * state dict's key order; float16/bfloat16/float64 become float32, int64 (values must fit) and smaller ints int32.
 *
 * @param bytes - The whole file.
 * @param source - Names the file in error messages.
 * @param opts - Limits, see {@link TorchReadOptions}.
 * @throws TorchFormatError (every failure; see {@link TorchFormatErrorCode}).
 */
export function parseTorchCheckpoint(bytes: Uint8Array, source = '<buffer>', opts?: TorchReadOptions): TorchCheckpoint {
  const limits = limitsOf(opts);
  try {
    return isZip(bytes) ? parseZip(bytes, source, limits) : parseLegacy(bytes, source, limits);
  } catch (err) {
    if (err instanceof RangeError) fail('TORCH_LIMIT', `${source}: ${err.message}`, err);
    throw err;
  }
}
