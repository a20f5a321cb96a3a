/**
 * Writing torch checkpoints in the zip format, as `torch.save(state_dict, path)` of torch 1.13 writes them (byte for
 * byte for a dict of contiguous tensors): a protocol-2 pickle of a plain dict, one storage per tensor, keys in the
 * given order, storage records in `torch.save`'s (string-sorted) order, then `version`. torch 1.13 and 2.x read the
 * result, `weights_only=True` included.
 *
 * @packageDocumentation
 */
import { fail } from './errors';
import { writeZip } from './zip';

/** Dtypes the writer stores: `F32` (`Float32Array`), `I64` and `I32` (`Int32Array`), `BOOL` and `U8` (`Uint8Array`). */
export type WritableTorchDtype = 'F32' | 'I64' | 'I32' | 'BOOL' | 'U8';

/**
 * One tensor to write. Tensors given the same `data` array (the same object, e.g. aliased keys) share one storage,
 * as tied parameters do in `torch.save`. Without `dtype`: `Float32Array` → F32, `Int32Array` → I64 (torch's default integer), `Uint8Array` → U8. */
export interface WritableTorchTensor {
  dtype?: WritableTorchDtype;
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Options of {@link serializeTorchCheckpoint}. */
export interface TorchWriteOptions {
  /**
   * The folder name inside the zip. `torch.save(obj, 'dir/pytorch_adapter.bin')` uses the file name up to its first
   * dot (`pytorch_adapter`); a buffer gets `archive`. Default `archive`.
   */
  archiveName?: string;
}

const STORAGE: Readonly<Record<WritableTorchDtype, { cls: string; bytes: number; array: 'f' | 'i' | 'u' }>> = {
  F32: { cls: 'FloatStorage', bytes: 4, array: 'f' },
  I64: { cls: 'LongStorage', bytes: 8, array: 'i' },
  I32: { cls: 'IntStorage', bytes: 4, array: 'i' },
  BOOL: { cls: 'BoolStorage', bytes: 1, array: 'u' },
  U8: { cls: 'ByteStorage', bytes: 1, array: 'u' },
};

/** Emits protocol-2 pickle bytes with Python's memo numbering. */
class PickleWriter {
  private chunks: number[] = [];
  private memo = 0;
  private readonly enc = new TextEncoder();
  op(...b: number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  /** BINPUT/LONG_BINPUT of the next memo slot; returns the slot. */
  put(): number {
    const i = this.memo++;
    if (i < 256) this.op(0x71, i);
    else {
      this.op(0x72);
      this.u32(i);
    }
    return i;
  }
  get(i: number): void {
    if (i < 256) this.op(0x68, i);
    else {
      this.op(0x6a);
      this.u32(i);
    }
  }
  str(s: string): number {
    const b = this.enc.encode(s);
    this.op(0x58);
    this.u32(b.length);
    for (const x of b) this.chunks.push(x);
    return this.put();
  }
  int(v: number): void {
    if (v >= 0 && v <= 0xff) this.op(0x4b, v);
    else if (v >= 0 && v <= 0xffff) this.op(0x4d, v & 0xff, v >> 8);
    else if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(0x4a);
      this.u32(v >>> 0);
    } else {
      // LONG1, two's complement little-endian, minimal length (Python's encode_long)
      let x = BigInt(v);
      const out: number[] = [];
      for (;;) {
        out.push(Number(x & 0xffn));
        x >>= 8n;
        if ((x === 0n && !(out[out.length - 1]! & 0x80)) || (x === -1n && out[out.length - 1]! & 0x80)) break;
      }
      this.op(0x8a, out.length, ...out);
    }
  }
  global(module: string, name: string): number {
    this.op(0x63);
    for (const x of this.enc.encode(`${module}\n${name}\n`)) this.chunks.push(x);
    return this.put();
  }
  /** A tuple of ints as `save_tuple` writes it. */
  intTuple(v: readonly number[]): void {
    if (v.length === 0) {
      this.op(0x29);
      return;
    }
    if (v.length > 3) this.op(0x28);
    for (const x of v) this.int(x);
    this.op(v.length > 3 ? 0x74 : [0, 0x85, 0x86, 0x87][v.length]!);
    this.put();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function storageBytes(t: WritableTorchTensor, dtype: WritableTorchDtype): Uint8Array {
  const spec = STORAGE[dtype];
  const out = new Uint8Array(t.data.length * spec.bytes);
  const v = new DataView(out.buffer);
  const d = t.data;
  if (dtype === 'F32') for (let i = 0; i < d.length; i++) v.setFloat32(i * 4, d[i]!, true);
  else if (dtype === 'I32') for (let i = 0; i < d.length; i++) v.setInt32(i * 4, d[i]!, true);
  else if (dtype === 'I64') for (let i = 0; i < d.length; i++) v.setBigInt64(i * 8, BigInt(d[i]!), true);
  else out.set(d as Uint8Array);
  return out;
}

/**
 * Serialises a state dict into torch's zip checkpoint format.
 *
 * @param tensors - Key → tensor, written in this order (a `Map` or an object).
 * @param opts - See {@link TorchWriteOptions}.
 * @returns The file's bytes.
 * @throws TorchFormatError `TORCH_SERIALIZE` on invalid input (names, shapes vs data, dtype vs array, values).
 */
export function serializeTorchCheckpoint(
  tensors: ReadonlyMap<string, WritableTorchTensor> | Readonly<Record<string, WritableTorchTensor>>,
  opts?: TorchWriteOptions,
): Uint8Array {
  const archive = opts?.archiveName ?? 'archive';
  if (archive === '' || /[/\\]/.test(archive)) fail('TORCH_SERIALIZE', `archive name ${JSON.stringify(archive)} must be a non-empty name without slashes`);
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = entries.map(([name, t]) => {
    const where = `tensor ${JSON.stringify(name)}`;
    if (typeof name !== 'string' || name === '') fail('TORCH_SERIALIZE', `tensor names must be non-empty strings`);
    const rawShape: unknown = t.shape;
    if (!Array.isArray(rawShape) || !rawShape.every((d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0)) fail('TORCH_SERIALIZE', `${where} shape ${JSON.stringify(t.shape)} must be non-negative integers`);
    const numel = t.shape.reduce((a: number, b: number) => a * b, 1);
    if (numel !== t.data.length) fail('TORCH_SERIALIZE', `${where} shape [${t.shape.join(', ')}] has ${numel} elements, data has ${t.data.length}`);
    const dtype: WritableTorchDtype = t.dtype ?? (t.data instanceof Float32Array ? 'F32' : t.data instanceof Int32Array ? 'I64' : 'U8');
    const spec = STORAGE[dtype];
    if (!spec) fail('TORCH_SERIALIZE', `${where} dtype ${String(dtype)} cannot be written`);
    const kind = t.data instanceof Float32Array ? 'f' : t.data instanceof Int32Array ? 'i' : t.data instanceof Uint8Array ? 'u' : '?';
    if (kind !== spec.array) fail('TORCH_SERIALIZE', `${where} dtype ${dtype} does not match its data (${t.data.constructor.name})`);
    if (dtype === 'BOOL' && (t.data as Uint8Array).some((x) => x > 1)) fail('TORCH_SERIALIZE', `${where} BOOL data holds values other than 0 and 1`);
    return { name, dtype, shape: t.shape, t };
  });

  const w = new PickleWriter();
  w.op(0x80, 2, 0x7d);
  w.put();
  const globals = new Map<string, number>();
  const strings = new Map<string, number>();
  const global = (module: string, name: string): void => {
    const k = `${module}.${name}`;
    const m = globals.get(k);
    if (m !== undefined) w.get(m);
    else globals.set(k, w.global(module, name));
  };
  const interned = (s: string): void => {
    const m = strings.get(s);
    if (m !== undefined) w.get(m);
    else strings.set(s, w.str(s));
  };
  const batches = Math.ceil(items.length / 1000);
  const records: { key: string; data: Uint8Array }[] = [];
  const storages = new Map<Float32Array | Int32Array | Uint8Array, { memo: number; dtype: WritableTorchDtype }>();
  for (let b = 0; b < batches; b++) {
    const batch = items.slice(b * 1000, b * 1000 + 1000);
    if (batch.length > 1) w.op(0x28);
    for (const it of batch) {
      w.str(it.name);
      global('torch._utils', '_rebuild_tensor_v2');
      w.op(0x28, 0x28);
      interned('storage');
      global('torch', STORAGE[it.dtype].cls);
      const known = storages.get(it.t.data);
      if (known && known.dtype === it.dtype) w.get(known.memo);
      else {
        const key = String(records.length);
        storages.set(it.t.data, { memo: w.str(key), dtype: it.dtype });
        records.push({ key, data: storageBytes(it.t, it.dtype) });
      }
      interned('cpu');
      w.int(it.t.data.length);
      w.op(0x74);
      w.put();
      w.op(0x51);
      w.int(0);
      w.intTuple(it.shape);
      const stride: number[] = [];
      for (let i = it.shape.length - 1, s = 1; i >= 0; i--) {
        stride.unshift(s);
        s *= it.shape[i]!;
      }
      w.intTuple(stride);
      w.op(0x89);
      global('collections', 'OrderedDict');
      w.op(0x29, 0x52);
      w.put();
      w.op(0x74);
      w.put();
      w.op(0x52);
      w.put();
    }
    w.op(batch.length > 1 ? 0x75 : 0x73);
  }
  w.op(0x2e);
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return writeZip([
    { name: `${archive}/data.pkl`, data: w.bytes() },
    ...sorted.map((r) => ({ name: `${archive}/data/${r.key}`, data: r.data })),
    { name: `${archive}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}
