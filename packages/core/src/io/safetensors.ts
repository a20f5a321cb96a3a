/**
 * Safetensors reader/writer.
 *
 * File layout: an 8-byte little-endian u64 header length `N`, `N` bytes of
 * UTF-8 JSON header, then the raw data section. The header maps each tensor
 * name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to
 * the start of the data section) plus an optional `"__metadata__"` object of
 * string values.
 *
 * The reader validates the whole header (sizes, dtypes, shapes, bounds,
 * overlaps) before allocating any tensor buffer, and reports every problem as a
 * {@link SafetensorsError} whose message names the source and the key/offsets
 * at fault. The writer reproduces the Python `safetensors` byte layout exactly.
 *
 * @packageDocumentation
 */
import { refLabel, toFileRef, type FileRef } from './source';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsError } from '../errors';
import { writeFileAtomic } from './atomic';
import { findJsonDepthExcess, MAX_JSON_DEPTH, previewJsonValue } from './json-limits';

/**
 * Error raised for malformed safetensors input (reading) or invalid tensors
 * (writing). `code` is one of {@link SafetensorsErrorCode}; the message always
 * names the file path (or `'<buffer>'`) and the key/offset at fault.
 */
export { SafetensorsError };

/**
 * Codes carried by {@link SafetensorsError}:
 * - `SAFETENSORS_TOO_SMALL`: fewer than 8 bytes.
 * - `SAFETENSORS_HEADER_SIZE`: header length exceeds `maxHeaderBytes` or the file.
 * - `SAFETENSORS_HEADER`: header is not UTF-8 / JSON / an object, or an entry or `__metadata__` is malformed.
 * - `SAFETENSORS_DTYPE`: unknown or unsupported dtype.
 * - `SAFETENSORS_SHAPE`: invalid shape, or shape × dtype size ≠ byte length.
 * - `SAFETENSORS_OFFSETS`: malformed or out-of-bounds `data_offsets` (also a truncated file).
 * - `SAFETENSORS_OVERLAP`: two tensors' byte ranges overlap.
 * - `SAFETENSORS_VALUE`: a 64-bit/unsigned integer value does not fit in int32.
 * - `SAFETENSORS_IO`: the file could not be read.
 * - `SAFETENSORS_SERIALIZE`: invalid input to the writer.
 */
export type SafetensorsErrorCode =
  | 'SAFETENSORS_TOO_SMALL'
  | 'SAFETENSORS_HEADER_SIZE'
  | 'SAFETENSORS_HEADER'
  | 'SAFETENSORS_DTYPE'
  | 'SAFETENSORS_SHAPE'
  | 'SAFETENSORS_OFFSETS'
  | 'SAFETENSORS_OVERLAP'
  | 'SAFETENSORS_VALUE'
  | 'SAFETENSORS_IO'
  | 'SAFETENSORS_SERIALIZE';

/**
 * Dtypes the reader understands, and how they are decoded:
 * - `F64`, `F32`, `F16`, `BF16` → `Float32Array` (F64 is rounded to float32; out-of-range values become ±Infinity).
 * - `I64`, `I32`, `I16`, `I8`, `U64`, `U32`, `U16` → `Int32Array` (I64/U64/U32 values must fit in int32, else `SAFETENSORS_VALUE`).
 * - `U8`, `BOOL` → `Uint8Array` (bytes copied verbatim).
 */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** Dtypes {@link serializeSafetensors} can write. */
export type WritableSafetensorsDtype = 'F32' | 'I32' | 'U8' | 'BOOL';

/** One decoded tensor. `data` has `product(shape)` elements (1 for shape `[]`). */
export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * Input tensor for {@link serializeSafetensors}. When `dtype` is omitted it is
 * inferred from `data` (`Float32Array` → F32, `Int32Array` → I32, `Uint8Array` → U8).
 */
export interface SerializableTensor {
  dtype?: WritableSafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Options for {@link parseSafetensors} and {@link readSafetensors}. */
export interface SafetensorsReadOptions {
  /** Largest accepted JSON header, in bytes. Default 100 MB (100,000,000), as in the Python library. */
  maxHeaderBytes?: number;
}

/** Result of parsing a safetensors file. */
export interface SafetensorsContents {
  /** Tensors in header order. */
  tensors: Map<string, TensorEntry>;
  /** The `__metadata__` object (empty when absent). */
  metadata: Record<string, string>;
}

/** Default {@link SafetensorsReadOptions.maxHeaderBytes}. */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/**
 * Rank of each writable dtype in the Rust `safetensors::Dtype` enum. The Python
 * library lays tensors out sorted by dtype (descending) and then by name.
 */
const WRITE_DTYPE_RANK: Readonly<Record<WritableSafetensorsDtype, number>> = {
  BOOL: 0,
  U8: 1,
  I32: 2,
  F32: 3,
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, d);
}

function fail(code: SafetensorsErrorCode, message: string, cause?: unknown): never {
  throw new SafetensorsError(code, message, cause === undefined ? undefined : { cause });
}

/** Appended to the errors a cut-off download produces (the exact detail stays first). */
export const TRUNCATED_HINT = 'the file is truncated or corrupt: download it again';

/** {@link fail} for damage a truncated or corrupted file shows (bytes missing or garbled), with {@link TRUNCATED_HINT}. */
function failDamaged(code: SafetensorsErrorCode, message: string, cause?: unknown): never {
  return fail(code, `${message}; ${TRUNCATED_HINT}`, cause);
}

function fmtShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => String(d)).join(', ')}]`;
}

/** Compares strings by Unicode code point (= UTF-8 byte order, as Rust's `String` ordering). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** A validated header entry, before any data is decoded. */
interface TensorLayout {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A fully validated header. */
interface HeaderLayout {
  tensors: TensorLayout[];
  metadata: Record<string, string>;
}

/**
 * Validates the 8-byte prefix and returns the header length as a number.
 * Compares as bigint so absurd lengths never turn into allocations.
 */
function checkHeaderLength(
  prefix: Uint8Array,
  fileLength: number,
  source: string,
  maxHeaderBytes: number,
): number {
  if (fileLength < 8) {
    failDamaged(
      'SAFETENSORS_TOO_SMALL',
      `${source}: file is ${fileLength} bytes, too small for the 8-byte header length prefix`,
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    fail(
      'SAFETENSORS_HEADER_SIZE',
      `${source}: header length ${n} (u64 at offset 0) exceeds maxHeaderBytes (${maxHeaderBytes})`,
    );
  }
  if (n > BigInt(fileLength - 8)) {
    failDamaged(
      'SAFETENSORS_HEADER_SIZE',
      `${source}: header length ${n} (u64 at offset 0) exceeds the ${fileLength - 8} bytes after the 8-byte prefix (file is ${fileLength} bytes)`,
    );
  }
  return Number(n);
}

function isSafeNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Decodes and validates the JSON header against a data section of `dataLength` bytes. */
function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): HeaderLayout {
  const headerEnd = 8 + headerBytes.length;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch (err) {
    return failDamaged('SAFETENSORS_HEADER', `${source}: header (bytes 8..${headerEnd}) is not valid UTF-8`, err);
  }
  const deep = findJsonDepthExcess(text, MAX_JSON_DEPTH);
  if (deep >= 0) {
    return fail(
      'SAFETENSORS_HEADER',
      `${source}: header nests deeper than ${MAX_JSON_DEPTH} levels (at byte ${8 + deep} of the file)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return failDamaged(
      'SAFETENSORS_HEADER',
      `${source}: header (bytes 8..${headerEnd}) is not valid JSON: ${(err as Error).message}`,
      err,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail('SAFETENSORS_HEADER', `${source}: header must be a JSON object`);
  }

  let metadata: Record<string, string> = {};
  const tensors: TensorLayout[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, source);
      continue;
    }
    const where = `${source}: tensor ${previewJsonValue(name)}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail('SAFETENSORS_HEADER', `${where} header entry must be an object`);
    }
    const entry = raw as Record<string, unknown>;
    const dtype = entry['dtype'];
    if (!isDtype(dtype)) {
      fail('SAFETENSORS_DTYPE', `${where} has unknown dtype ${previewJsonValue(dtype ?? null)}`);
    }
    const shape = entry['shape'];
    if (!Array.isArray(shape) || !shape.every(isSafeNonNegInt)) {
      fail(
        'SAFETENSORS_SHAPE',
        `${where} shape ${previewJsonValue(shape ?? null)} must be an array of non-negative integers`,
      );
    }
    const offsets = entry['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSafeNonNegInt)) {
      fail(
        'SAFETENSORS_OFFSETS',
        `${where} data_offsets ${previewJsonValue(offsets ?? null)} must be [begin, end] non-negative integers`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      failDamaged(
        'SAFETENSORS_OFFSETS',
        `${where} data_offsets [${begin}, ${end}] out of bounds (data section is ${dataLength} bytes)`,
      );
    }
    const numel = (shape as number[]).reduce((acc, d) => acc * BigInt(d), 1n);
    const expected = numel * BigInt(DTYPE_BYTES[dtype]);
    if (expected !== BigInt(end - begin)) {
      fail(
        'SAFETENSORS_SHAPE',
        `${where} shape ${fmtShape(shape)} × ${dtype} (${DTYPE_BYTES[dtype]} bytes) = ${expected} bytes, but data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
      );
    }
    tensors.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }

  // Overlap check over non-empty ranges, sorted by begin.
  const ranges = tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: TensorLayout | undefined;
  for (const t of ranges) {
    if (prev !== undefined && t.begin < prev.end) {
      fail(
        'SAFETENSORS_OVERLAP',
        `${source}: tensors ${JSON.stringify(prev.name)} data_offsets [${prev.begin}, ${prev.end}] and ${JSON.stringify(t.name)} data_offsets [${t.begin}, ${t.end}] overlap`,
      );
    }
    if (prev === undefined || t.end > prev.end) prev = t;
  }
  return { tensors, metadata };
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return fail('SAFETENSORS_HEADER', `${source}: "__metadata__" must be an object of strings`);
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      fail(
        'SAFETENSORS_HEADER',
        `${source}: "__metadata__" value for ${JSON.stringify(k)} must be a string, got ${v === null ? 'null' : typeof v}`,
      );
    }
    out.push([k, v]);
  }
  return Object.fromEntries(out);
}

/** Decodes an IEEE 754 binary16 value. */
function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes one tensor's bytes (already bounds-checked) into its typed array. */
function decodeTensor(t: TensorLayout, data: Uint8Array, source: string): TensorEntry {
  const bytes = data.subarray(t.begin, t.end);
  const n = bytes.length / DTYPE_BYTES[t.dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = t.shape;
  const tooBig = (i: number, value: string): never =>
    fail(
      'SAFETENSORS_VALUE',
      `${source}: tensor ${JSON.stringify(t.name)} element ${i} (byte ${t.begin + i * DTYPE_BYTES[t.dtype]} of data section) = ${value} does not fit in int32`,
    );
  switch (t.dtype) {
    case 'F32':
    case 'I32': {
      const out = t.dtype === 'F32' ? new Float32Array(n) : new Int32Array(n);
      if (HOST_LITTLE_ENDIAN) {
        new Uint8Array(out.buffer).set(bytes);
      } else if (out instanceof Float32Array) {
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      } else {
        for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      }
      return { dtype: t.dtype, shape, data: out };
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return { dtype: t.dtype, shape, data: out };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToNumber(view.getUint16(i * 2, true));
      return { dtype: t.dtype, shape, data: out };
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const out32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) out32[i] = view.getUint16(i * 2, true) << 16;
      return { dtype: t.dtype, shape, data: out };
    }
    case 'I64':
    case 'U64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(i * 8, true);
        const hi = view.getInt32(i * 8 + 4, true);
        const fits = t.dtype === 'I64' ? hi === (lo >= 0x80000000 ? -1 : 0) : hi === 0 && lo < 0x80000000;
        if (!fits) {
          tooBig(i, String(t.dtype === 'I64' ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true)));
        }
        out[i] = lo | 0;
      }
      return { dtype: t.dtype, shape, data: out };
    }
    case 'U32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getUint32(i * 4, true);
        if (v > 0x7fffffff) tooBig(i, String(v));
        out[i] = v;
      }
      return { dtype: t.dtype, shape, data: out };
    }
    case 'I16':
    case 'U16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = t.dtype === 'I16' ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true);
      return { dtype: t.dtype, shape, data: out };
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return { dtype: t.dtype, shape, data: out };
    }
    case 'U8':
    case 'BOOL':
      return { dtype: t.dtype, shape, data: bytes.slice() };
  }
}

function decodeAll(layout: HeaderLayout, data: Uint8Array, source: string): SafetensorsContents {
  const tensors = new Map<string, TensorEntry>();
  for (const t of layout.tensors) tensors.set(t.name, decodeTensor(t, data, source));
  return { tensors, metadata: layout.metadata };
}

function resolveMaxHeader(opts: SafetensorsReadOptions | undefined, source: string): number {
  const max = opts?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!isSafeNonNegInt(max)) {
    fail('SAFETENSORS_HEADER_SIZE', `${source}: maxHeaderBytes must be a non-negative integer, got ${String(max)}`);
  }
  return max;
}

/**
 * Parses a complete safetensors file held in memory.
 *
 * Everything (prefix, header size, UTF-8, JSON, dtypes, shapes, offsets,
 * byte lengths, overlaps, metadata) is validated before any tensor buffer is
 * allocated; the returned arrays are fresh copies that do not alias `bytes`.
 * Gaps between tensors and trailing bytes after the last tensor are tolerated.
 *
 * @param bytes - The whole file.
 * @param source - Name used in error messages (a file path, or `'<buffer>'`).
 * @param opts - See {@link SafetensorsReadOptions}.
 * @returns The tensors (in header order) and the `__metadata__` strings.
 * @throws SafetensorsError on any malformed input.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source = '<buffer>',
  opts?: SafetensorsReadOptions,
): SafetensorsContents {
  const max = resolveMaxHeader(opts, source);
  const n = checkHeaderLength(bytes, bytes.length, source, max);
  const layout = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, source);
  return decodeAll(layout, bytes.subarray(8 + n), source);
}

/**
 * Reads and parses a safetensors file: a path (a URL in browsers) or a file of a {@link FileSource}.
 *
 * The whole file is read, then the header length is checked against the file size and `maxHeaderBytes`, the header
 * validated, and only then are tensor buffers allocated.
 *
 * @param file - The file (also named in error messages).
 * @param opts - See {@link SafetensorsReadOptions}.
 * @returns Same as {@link parseSafetensors}.
 * @throws SafetensorsError on malformed input, or code `SAFETENSORS_IO` (with `cause`) when the file cannot be read.
 */
export async function readSafetensors(file: string | FileRef, opts?: SafetensorsReadOptions): Promise<SafetensorsContents> {
  const ref = toFileRef(file);
  const path = refLabel(ref);
  resolveMaxHeader(opts, path);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await ref.source.read(ref.name);
  } catch (err) {
    return fail('SAFETENSORS_IO', `${path}: cannot read file: ${(err as Error).message}`, err);
  }
  if (bytes === undefined) return fail('SAFETENSORS_IO', `${path}: cannot read file: no such file (or not a regular file)`);
  return parseSafetensors(bytes, path, opts);
}

function inferWritableDtype(t: SerializableTensor, name: string): WritableSafetensorsDtype {
  const where = `<buffer>: tensor ${JSON.stringify(name)}`;
  const expected =
    t.data instanceof Float32Array
      ? ['F32']
      : t.data instanceof Int32Array
        ? ['I32']
        : t.data instanceof Uint8Array
          ? ['U8', 'BOOL']
          : [];
  if (expected.length === 0) {
    fail('SAFETENSORS_SERIALIZE', `${where} data must be a Float32Array, Int32Array or Uint8Array`);
  }
  const dtype = t.dtype ?? (expected[0] as WritableSafetensorsDtype);
  if (!Object.prototype.hasOwnProperty.call(WRITE_DTYPE_RANK, dtype)) {
    fail('SAFETENSORS_DTYPE', `${where} dtype ${JSON.stringify(dtype)} cannot be written (use F32, I32, U8 or BOOL)`);
  }
  if (!expected.includes(dtype)) {
    fail('SAFETENSORS_SERIALIZE', `${where} dtype ${dtype} does not match data (${t.data.constructor.name})`);
  }
  return dtype;
}

/** Serialises a string→string map as compact JSON with keys in code-point order. */
function metadataJson(metadata: Record<string, string>): string {
  const keys = Object.keys(metadata).sort(compareCodePoints);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`;
}

/**
 * Serialises tensors to safetensors bytes, byte-compatible with the Python
 * `safetensors` library: tensors are ordered by dtype (F32, I32, U8, BOOL — the
 * Rust enum order, descending) and then by name in code-point order, laid out
 * contiguously in that order; the header lists `__metadata__` first and then
 * the tensors in the same order, as compact JSON padded with spaces to a
 * multiple of 8 bytes. (With a single dtype this is simply sorted-key order.)
 *
 * All inputs are validated before the output buffer is allocated.
 *
 * @param tensors - Name → tensor. Names must be non-empty and not `__metadata__`.
 * @param metadata - String metadata; defaults to `{ format: 'pt' }`. Pass `{}` to write an empty object.
 * @returns The complete file contents.
 * @throws SafetensorsError (`SAFETENSORS_SERIALIZE`, `SAFETENSORS_SHAPE`, `SAFETENSORS_DTYPE`) on invalid input.
 */
export function serializeSafetensors(
  tensors: Record<string, SerializableTensor>,
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      fail('SAFETENSORS_SERIALIZE', `<buffer>: metadata value for ${JSON.stringify(k)} must be a string`);
    }
  }
  const items = Object.entries(tensors).map(([name, t]) => {
    const where = `<buffer>: tensor ${JSON.stringify(name)}`;
    if (name === '') fail('SAFETENSORS_SERIALIZE', `<buffer>: tensor names must be non-empty`);
    if (name === '__metadata__') fail('SAFETENSORS_SERIALIZE', `${where} is a reserved name`);
    if (!Array.isArray(t.shape) || !t.shape.every(isSafeNonNegInt)) {
      fail('SAFETENSORS_SHAPE', `${where} shape ${JSON.stringify(t.shape)} must be an array of non-negative integers`);
    }
    const dtype = inferWritableDtype(t, name);
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length) {
      fail(
        'SAFETENSORS_SHAPE',
        `${where} shape ${fmtShape(t.shape)} has ${numel} elements but data has ${t.data.length}`,
      );
    }
    return { name, dtype, shape: t.shape, data: t.data, nbytes: t.data.byteLength };
  });
  items.sort((a, b) => WRITE_DTYPE_RANK[b.dtype] - WRITE_DTYPE_RANK[a.dtype] || compareCodePoints(a.name, b.name));

  const parts: string[] = [`"__metadata__":${metadataJson(metadata)}`];
  let offset = 0;
  for (const it of items) {
    const info = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.nbytes] };
    parts.push(`${JSON.stringify(it.name)}:${JSON.stringify(info)}`);
    offset += it.nbytes;
  }
  const headerRaw = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(headerRaw.length / 8) * 8;

  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(headerRaw, 8);
  out.fill(0x20, 8 + headerRaw.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const it of items) {
    const d = it.data;
    if (HOST_LITTLE_ENDIAN || d instanceof Uint8Array) {
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    } else if (d instanceof Float32Array) {
      for (let i = 0; i < d.length; i++) view.setFloat32(pos + i * 4, d[i]!, true);
    } else {
      for (let i = 0; i < d.length; i++) view.setInt32(pos + i * 4, d[i]!, true);
    }
    pos += it.nbytes;
  }
  return out;
}

/**
 * Serialises tensors (see {@link serializeSafetensors}) and writes them to
 * `path` atomically (see {@link writeFileAtomic}).
 *
 * @param path - Destination file; its directory must exist.
 * @param tensors - Name → tensor.
 * @param metadata - String metadata; defaults to `{ format: 'pt' }`.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SerializableTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/**
 * Creates a tfjs tensor from a decoded entry: `Float32Array` → `float32`,
 * `BOOL` → `bool`, everything else → `int32`. The caller owns (and must
 * dispose) the returned tensor.
 *
 * @param entry - A tensor from {@link parseSafetensors}/{@link readSafetensors}.
 */
export function tensorEntryToTf(entry: TensorEntry): tf.Tensor {
  const { data, shape } = entry;
  if (data instanceof Float32Array) return tf.tensor(data, shape, 'float32');
  if (data instanceof Int32Array) return tf.tensor(data, shape, 'int32');
  if (entry.dtype === 'BOOL') return tf.tensor(data, shape, 'bool');
  return tf.tensor(Int32Array.from(data), shape, 'int32');
}

/**
 * Downloads a tfjs tensor into a {@link TensorEntry} (a copy, safe to keep
 * after disposing `t`): `float32` → F32, `int32` → I32, `bool` → BOOL.
 *
 * @param t - The tensor; it is not disposed.
 * @throws SafetensorsError (`SAFETENSORS_DTYPE`) for `string`/`complex64` tensors.
 */
export async function tfToTensorEntry(t: tf.Tensor): Promise<TensorEntry> {
  const shape = t.shape.slice();
  switch (t.dtype) {
    case 'float32':
      return { dtype: 'F32', shape, data: Float32Array.from((await t.data()) as Float32Array) };
    case 'int32':
      return { dtype: 'I32', shape, data: Int32Array.from((await t.data()) as Int32Array) };
    case 'bool':
      return { dtype: 'BOOL', shape, data: Uint8Array.from((await t.data()) as Uint8Array) };
    default:
      return fail('SAFETENSORS_DTYPE', `<tensor>: tfjs dtype ${t.dtype} cannot be stored as safetensors`);
  }
}
