import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  SafetensorsError,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  tensorEntryToTf,
  tfToTensorEntry,
  writeSafetensors,
} from './safetensors';
import type { SerializableTensor, TensorEntry } from './safetensors';

const FIXTURE = fileURLToPath(
  new URL('../../../../fixtures/golden/cases/bert/pfeiffer/adapter.safetensors', import.meta.url),
);

/** Builds a raw safetensors buffer from a header (object or literal JSON text) and data bytes. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

/** Expects `fn` to throw a SafetensorsError with `code` whose message matches every pattern. */
function expectError(fn: () => unknown, code: string, ...patterns: (string | RegExp)[]): void {
  expect(fn).toThrow(SafetensorsError);
  try {
    fn();
  } catch (err) {
    expect((err as SafetensorsError).code).toBe(code);
    for (const p of patterns) expect((err as Error).message).toMatch(p);
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-st-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('serialize / parse round trip', () => {
  it('round-trips F32 and I32 tensors incl. scalar and empty shapes through disk', async () => {
    const tensors: Record<string, SerializableTensor> = {
      'z.weight': { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) },
      'a.ids': { dtype: 'I32', shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
      'm.scalar': { shape: [], data: new Float32Array([42.25]) },
      'e.empty': { shape: [0, 5], data: new Float32Array(0) },
    };
    const p = join(dir, 'rt.safetensors');
    await writeSafetensors(p, tensors, { format: 'pt', note: 'hi "there"' });
    expect(await readdir(dir)).toEqual(['rt.safetensors']);

    const { tensors: got, metadata } = await readSafetensors(p);
    expect(metadata).toEqual({ format: 'pt', note: 'hi "there"' });
    // F32 first (Python dtype order), each dtype group sorted by name.
    expect([...got.keys()]).toEqual(['e.empty', 'm.scalar', 'z.weight', 'a.ids']);
    expect(got.get('z.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) });
    expect(got.get('a.ids')).toEqual({ dtype: 'I32', shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) });
    expect(got.get('m.scalar')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([42.25]) });
    expect(got.get('e.empty')?.data.length).toBe(0);
  });

  it('pads the header with spaces to a multiple of 8, sorts keys, puts __metadata__ first, lays data out contiguously', () => {
    const bytes = serializeSafetensors({
      b: { shape: [1], data: new Float32Array([2]) },
      a: { shape: [2], data: new Float32Array([1, 1]) },
      c: { shape: [1], data: new Float32Array([3]) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = headerText(bytes);
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},' +
        '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"c":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}',
    );
    expect(/^[^ ]*\}( *)$/.test(text)).toBe(true);
    expect(bytes.length).toBe(8 + n + 16);
    expect(Array.from(new Float32Array(bytes.slice(8 + n).buffer))).toEqual([1, 1, 2, 3]);
  });

  it('keeps numeric-looking names in code-point order (not JS integer-key order)', () => {
    const bytes = serializeSafetensors({
      '10': { shape: [1], data: new Float32Array([1]) },
      '2': { shape: [1], data: new Float32Array([2]) },
      b: { shape: [1], data: new Float32Array([3]) },
    });
    expect(headerText(bytes)).toMatch(/^\{"__metadata__":\{"format":"pt"\},"10":.*,"2":.*,"b":/);
  });

  it('validates writer input before allocating', () => {
    expectError(() => serializeSafetensors({ '': { shape: [1], data: new Float32Array(1) } }), 'SAFETENSORS_SERIALIZE', /non-empty/);
    expectError(
      () => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
      'SAFETENSORS_SHAPE',
      /"w"/,
      /4 elements but data has 3/,
    );
    expectError(
      () => serializeSafetensors({ w: { dtype: 'I32', shape: [1], data: new Float32Array(1) } }),
      'SAFETENSORS_SERIALIZE',
      /"w" dtype I32 does not match/,
    );
  });
});

describe('real fixture', () => {
  it('reads the golden pfeiffer adapter and re-serialises it byte-identically', async () => {
    const original = new Uint8Array(await readFile(FIXTURE));
    const { tensors, metadata } = await readSafetensors(FIXTURE);
    expect(tensors.size).toBe(8);
    expect(metadata).toEqual({ format: 'pt' });
    const w = tensors.get('encoder.layer.0.output.adapters.pfeiffer.adapter_down.0.weight');
    expect(w?.dtype).toBe('F32');
    expect(w?.shape).toEqual([2, 32]);
    expect(w?.data).toBeInstanceOf(Float32Array);
    expect(w?.data.length).toBe(64);

    const input: Record<string, SerializableTensor> = {};
    for (const [k, t] of tensors) input[k] = { dtype: 'F32', shape: t.shape, data: t.data };
    const again = serializeSafetensors(input, metadata);
    expect(again.length).toBe(original.length);
    expect(Buffer.from(again).equals(Buffer.from(original))).toBe(true);
    expect(parseSafetensors(original, FIXTURE).tensors.size).toBe(8);
  });
});

describe('dtype decoding', () => {
  it('decodes F16 (normal, negative, max, subnormal, zero, inf, nan)', () => {
    const halves = [0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const data = new Uint8Array(halves.length * 2);
    halves.forEach((h, i) => new DataView(data.buffer).setUint16(i * 2, h, true));
    const { tensors } = parseSafetensors(build({ h: { dtype: 'F16', shape: [halves.length], data_offsets: [0, data.length] } }, data));
    const v = Array.from(tensors.get('h')!.data);
    expect(tensors.get('h')!.data).toBeInstanceOf(Float32Array);
    expect(v.slice(0, 9)).toEqual([1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24, -0, Infinity, -Infinity, NaN]);
    expect(v[9]).toBeCloseTo(0.333, 3);
  });

  it('decodes BF16 (1.0, -2.5, large, subnormal, inf, nan)', () => {
    const f32 = new Float32Array([1, -2.5, 3.3895313892515355e38, 2 ** -133, Infinity, -Infinity, NaN]);
    const u32 = new Uint32Array(f32.buffer);
    const data = new Uint8Array(f32.length * 2);
    u32.forEach((bits, i) => new DataView(data.buffer).setUint16(i * 2, bits >>> 16, true));
    const { tensors } = parseSafetensors(build({ b: { dtype: 'BF16', shape: [7], data_offsets: [0, 14] } }, data));
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -2.5, 3.3895313892515355e38, 2 ** -133, Infinity, -Infinity, NaN]);
  });

  it('decodes F64, I64, I8, U8 and BOOL; rejects I64 values outside int32', () => {
    const data = new Uint8Array(8 + 16 + 2 + 2 + 2);
    const dv = new DataView(data.buffer);
    dv.setFloat64(0, -0.5, true);
    dv.setBigInt64(8, -7n, true);
    dv.setBigInt64(16, 2147483647n, true);
    dv.setInt8(24, -3);
    dv.setInt8(25, 4);
    data.set([200, 7, 1, 0], 26);
    const header = {
      d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      l: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
      i: { dtype: 'I8', shape: [2], data_offsets: [24, 26] },
      u: { dtype: 'U8', shape: [2], data_offsets: [26, 28] },
      t: { dtype: 'BOOL', shape: [2], data_offsets: [28, 30] },
    };
    const { tensors } = parseSafetensors(build(header, data));
    expect(tensors.get('d')!.data).toEqual(new Float32Array([-0.5]));
    expect(tensors.get('l')!.data).toEqual(new Int32Array([-7, 2147483647]));
    expect(tensors.get('i')!.data).toEqual(new Int32Array([-3, 4]));
    expect(tensors.get('u')!.data).toEqual(new Uint8Array([200, 7]));
    expect(tensors.get('t')!.data).toEqual(new Uint8Array([1, 0]));

    dv.setBigInt64(16, 2147483648n, true);
    expectError(() => parseSafetensors(build(header, data), 'ids.safetensors'), 'SAFETENSORS_VALUE', 'ids.safetensors', /"l" element 1/, /2147483648/);
  });
});

describe('typed errors', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(n * 4);

  it('file shorter than 8 bytes', () => {
    expectError(() => parseSafetensors(new Uint8Array(5), 'tiny.safetensors'), 'SAFETENSORS_TOO_SMALL', 'tiny.safetensors', /5 bytes/);
  });

  it('header length larger than the file / maxHeaderBytes', () => {
    const b = build({});
    new DataView(b.buffer).setBigUint64(0, 100n, true);
    expectError(() => parseSafetensors(b), 'SAFETENSORS_HEADER_SIZE', '<buffer>', /header length 100/);
    expectError(() => parseSafetensors(build({ a: 1 }), 'x', { maxHeaderBytes: 4 }), 'SAFETENSORS_HEADER_SIZE', /exceeds maxHeaderBytes \(4\)/);
  });

  it('a 10 GB header length in a tiny buffer fails without allocating', () => {
    const b = new Uint8Array(8 + 4);
    new DataView(b.buffer).setBigUint64(0, BigInt(10 * 2 ** 30), true);
    expectError(() => parseSafetensors(b, 'huge.safetensors'), 'SAFETENSORS_HEADER_SIZE', 'huge.safetensors', /10737418240/);
    expectError(() => parseSafetensors(b, 'huge.safetensors', { maxHeaderBytes: 2 ** 40 }), 'SAFETENSORS_HEADER_SIZE', /exceeds the 4 bytes/);
    const max = new Uint8Array(16).fill(0xff);
    expectError(() => parseSafetensors(max), 'SAFETENSORS_HEADER_SIZE', /18446744073709551615/);
  });

  it('a 10 GB header length on disk fails via readSafetensors', async () => {
    const b = new Uint8Array(8 + 6);
    new DataView(b.buffer).setBigUint64(0, BigInt(10 * 2 ** 30), true);
    const p = join(dir, 'huge.safetensors');
    await writeFile(p, b);
    await expect(readSafetensors(p)).rejects.toThrow(SafetensorsError);
    await expect(readSafetensors(p)).rejects.toThrow(/huge\.safetensors: header length 10737418240/);
    await writeFile(p, new Uint8Array(3));
    await expect(readSafetensors(p)).rejects.toMatchObject({ code: 'SAFETENSORS_TOO_SMALL' });
    await expect(readSafetensors(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'SAFETENSORS_IO' });
  });

  it('truncated file (data section shorter than offsets)', async () => {
    const full = serializeSafetensors({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    const cut = full.slice(0, full.length - 3);
    expectError(() => parseSafetensors(cut, 'cut.safetensors'), 'SAFETENSORS_OFFSETS', 'cut.safetensors', /"w" data_offsets \[0, 16\] out of bounds \(data section is 13 bytes\)/);
    const p = join(dir, 'cut.safetensors');
    await writeFile(p, cut);
    await expect(readSafetensors(p)).rejects.toThrow(/cut\.safetensors: tensor "w" data_offsets \[0, 16\] out of bounds/);
    // the exact detail first, then what to do about it
    await expect(readSafetensors(p)).rejects.toThrow(/\(data section is 13 bytes\); the file is truncated or corrupt: download it again$/);
    // cut inside the header or the length prefix
    expectError(() => parseSafetensors(full.slice(0, 20), 'h.safetensors'), 'SAFETENSORS_HEADER_SIZE', /exceeds the 12 bytes after the 8-byte prefix .*; the file is truncated or corrupt: download it again$/);
    expectError(() => parseSafetensors(full.slice(0, 5), 'p.safetensors'), 'SAFETENSORS_TOO_SMALL', /too small .*; the file is truncated or corrupt: download it again$/);
  });

  it('offsets out of bounds, reversed, or malformed', () => {
    expectError(
      () => parseSafetensors(build({ 'a.weight': { dtype: 'F32', shape: [24], data_offsets: [0, 96] } }, f32(16)), 'model.safetensors'),
      'SAFETENSORS_OFFSETS',
      'model.safetensors: tensor "a.weight" data_offsets [0, 96] out of bounds (data section is 64 bytes)',
    );
    expectError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, f32(4))), 'SAFETENSORS_OFFSETS', /"a" data_offsets \[8, 4\]/);
    expectError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32(1))), 'SAFETENSORS_OFFSETS', /"a" data_offsets \[0\]/);
    expectError(() => parseSafetensors(build({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, f32(1))), 'SAFETENSORS_OFFSETS', /"a"/);
  });

  it('overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expectError(() => parseSafetensors(build(header, f32(3)), 'o.st'), 'SAFETENSORS_OVERLAP', /o\.st: tensors "a" data_offsets \[0, 8\] and "b" data_offsets \[4, 12\] overlap/);
    const nested = {
      big: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      mid: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    };
    expectError(() => parseSafetensors(build(nested, f32(4))), 'SAFETENSORS_OVERLAP', /"big".*"mid"/);
  });

  it('shape × dtype size ≠ byte length, and invalid shapes', () => {
    expectError(
      () => parseSafetensors(build({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(6)), 'w.st'),
      'SAFETENSORS_SHAPE',
      'w.st: tensor "w" shape [2, 3] × F32 (4 bytes) = 24 bytes, but data_offsets [0, 20] span 20 bytes',
    );
    expectError(() => parseSafetensors(build({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1))), 'SAFETENSORS_SHAPE', /"w" shape \[-1\]/);
    expectError(() => parseSafetensors(build({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, f32(1))), 'SAFETENSORS_SHAPE', /"w"/);
    expectError(
      () => parseSafetensors(build({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, f32(1))),
      'SAFETENSORS_SHAPE',
      /4835703278458516698824704 bytes/,
    );
  });

  it('unknown dtype', () => {
    expectError(() => parseSafetensors(build({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, f32(4)), 'd.st'), 'SAFETENSORS_DTYPE', 'd.st: tensor "w" has unknown dtype "F128"');
    expectError(() => parseSafetensors(build({ w: { shape: [1], data_offsets: [0, 4] } }, f32(1))), 'SAFETENSORS_DTYPE', /"w" has unknown dtype null/);
  });

  it('invalid JSON, non-object header, invalid UTF-8, bad metadata', () => {
    expectError(() => parseSafetensors(build('{"a": ', f32(1)), 'j.st'), 'SAFETENSORS_HEADER', /j\.st: header \(bytes 8\.\.14\) is not valid JSON/);
    expectError(() => parseSafetensors(build('[1,2]')), 'SAFETENSORS_HEADER', /must be a JSON object/);
    const bad = build('{"\u00e9":1}');
    bad[10] = 0xff;
    expectError(() => parseSafetensors(bad), 'SAFETENSORS_HEADER', /not valid UTF-8/);
    expectError(() => parseSafetensors(build({ __metadata__: { format: 1 } })), 'SAFETENSORS_HEADER', /"__metadata__" value for "format" must be a string/);
    expectError(() => parseSafetensors(build({ w: [1] })), 'SAFETENSORS_HEADER', /"w" header entry must be an object/);
  });
});

describe('tfjs helpers', () => {
  it('converts entries to tf tensors and back', async () => {
    const entry: TensorEntry = { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const t = tensorEntryToTf(entry);
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 2]);
    const s = tf.sum(t);
    expect(await s.data()).toEqual(new Float32Array([10]));
    const back = await tfToTensorEntry(t);
    expect(back).toEqual(entry);
    const u8 = tensorEntryToTf({ dtype: 'U8', shape: [2], data: new Uint8Array([5, 250]) });
    expect(u8.dtype).toBe('int32');
    expect(await tfToTensorEntry(u8)).toEqual({ dtype: 'I32', shape: [2], data: new Int32Array([5, 250]) });
    const b = tensorEntryToTf({ dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) });
    expect(await tfToTensorEntry(b)).toEqual({ dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) });
    tf.dispose([t, s, u8, b]);
  });
});
