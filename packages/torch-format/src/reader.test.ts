import { describe, expect, it } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTorchCheckpoint, serializeTorchCheckpoint, TorchFormatError } from './index';
import { FIXTURES, fixture, zipDeflated } from './test-helpers';
import { readZipDirectory, writeZip } from './zip';

const expected = JSON.parse(readFileSync(join(FIXTURES, 'mixed.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: number[] }>;

describe.each(['zip', 'legacy'])('reads torch 1.13 %s checkpoints', (format) => {
  const ck = parseTorchCheckpoint(fixture(`mixed.${format}.bin`), `mixed.${format}.bin`);
  it('detects the format and keeps key order', () => {
    expect(ck.format).toBe(format);
    expect([...ck.tensors.keys()]).toEqual(Object.keys(expected));
  });
  it.each(Object.keys(expected))('tensor %s: dtype, shape, values (views, offsets, shared storages, 0-d, stride 0)', (key) => {
    const t = ck.tensors.get(key)!;
    const e = expected[key]!;
    expect(t.dtype).toBe(e.dtype);
    expect(t.shape).toEqual(e.shape);
    expect(Array.from(t.data)).toEqual(e.values.map((v) => (e.dtype.startsWith('F') || e.dtype === 'BF16' ? Math.fround(v) : Number(v))));
  });
});

describe('zip container', () => {
  const good = fixture('mixed.zip.bin');
  const entriesOf = (b: Uint8Array) =>
    [...readZipDirectory(b, 'x', { maxEntries: 100, maxInflatedBytes: 1 << 20, verifyCrc: true }).values()].map((e) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const start = e.headerOffset + 30 + v.getUint16(e.headerOffset + 26, true) + v.getUint16(e.headerOffset + 28, true);
      return { name: e.name, data: b.slice(start, start + e.size) };
    });

  it('reads deflated entries (pure-JS inflate) like stored ones', () => {
    // re-pack with deflate: rewrite each entry's method/sizes by hand around writeZip's layout
    const entries = entriesOf(good);
    const deflated = entries.map((e) => ({ ...e, comp: new Uint8Array(deflateRawSync(e.data, { level: 9 })) }));
    const bytes = zipDeflated(deflated);
    const ck = parseTorchCheckpoint(bytes, 'deflated.bin');
    expect(ck.tensors.get('f32')!.data).toEqual(parseTorchCheckpoint(good).tensors.get('f32')!.data);
  });

  it('refuses a deflated entry that inflates past its declared size', () => {
    const entries = entriesOf(good).map((e) => ({ ...e, comp: new Uint8Array(deflateRawSync(e.data)) }));
    const bad = zipDeflated(entries, (e) => (e.name.endsWith('data.pkl') ? e.data.length - 1 : e.data.length));
    expect(() => parseTorchCheckpoint(bad, 'bomb.bin')).toThrow(/inflates to more than the declared/);
  });

  it('refuses duplicate entries and missing storage records, naming them', () => {
    const entries = entriesOf(good);
    const dup = writeZip([...entries, entries[1]!]);
    expect(() => parseTorchCheckpoint(dup, 'dup.bin')).toThrow(expect.objectContaining({ code: 'TORCH_ENTRY', message: expect.stringContaining('appears twice') }));
    const missing = writeZip(entries.filter((e) => !e.name.endsWith('/data/3')));
    expect(() => parseTorchCheckpoint(missing, 'missing.bin')).toThrow(expect.objectContaining({ code: 'TORCH_ENTRY', message: expect.stringMatching(/missing\.bin: storage "3" has no record mixed\.zip\/data\/3/) }));
    const noPkl = writeZip(entries.filter((e) => !e.name.endsWith('data.pkl')));
    expect(() => parseTorchCheckpoint(noPkl, 'nopkl.bin')).toThrow(expect.objectContaining({ code: 'TORCH_ENTRY' }));
  });

  it('refuses a storage record whose size does not match the pickle', () => {
    const entries = entriesOf(good).map((e) => (e.name.endsWith('/data/0') ? { ...e, data: e.data.subarray(4) } : e));
    expect(() => parseTorchCheckpoint(writeZip(entries), 'short.bin')).toThrow(expect.objectContaining({ code: 'TORCH_STORAGE' }));
  });

  it('refuses truncated files and CRC mismatches', () => {
    expect(() => parseTorchCheckpoint(good.subarray(0, good.length - 30), 't.bin')).toThrow(expect.objectContaining({ code: 'TORCH_ZIP' }));
    // the exact detail, then what to do about it
    expect(() => parseTorchCheckpoint(good.subarray(0, good.length - 30), 't.bin')).toThrow(/^t\.bin: .+; the file is truncated or corrupt: download it again$/);
    expect(() => parseTorchCheckpoint(good.subarray(0, Math.floor(good.length / 2)), 'half.bin')).toThrow(/half\.bin: .+; the file is truncated or corrupt: download it again$/);
    const flipped = good.slice();
    flipped[1100] = flipped[1100]! ^ 0xff; // inside a storage record
    expect(() => parseTorchCheckpoint(flipped, 'crc.bin')).toThrow(/CRC-32.*; the file is truncated or corrupt: download it again$/);
  });

  it('refuses more entries than maxEntries before reading them', () => {
    expect(() => parseTorchCheckpoint(good, 'x.bin', { maxEntries: 3 })).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT' }));
  });
});

describe('writer', () => {
  it('round-trips every dtype it writes, in key order', () => {
    const tensors = new Map([
      ['z.last', { shape: [2, 2], data: new Float32Array([1, -2.5, 3e-8, 4]) }],
      ['a.ids', { shape: [3], data: new Int32Array([1, -2, 2147483647]) }],
      ['m.mask', { dtype: 'BOOL' as const, shape: [2], data: new Uint8Array([1, 0]) }],
      ['s.scalar', { shape: [], data: new Float32Array([7]) }],
      ['e.empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['i.int32', { dtype: 'I32' as const, shape: [1], data: new Int32Array([-5]) }],
    ]);
    const ck = parseTorchCheckpoint(serializeTorchCheckpoint(tensors));
    expect([...ck.tensors.keys()]).toEqual([...tensors.keys()]);
    expect(ck.tensors.get('a.ids')).toEqual({ dtype: 'I64', shape: [3], data: new Int32Array([1, -2, 2147483647]) });
    expect(ck.tensors.get('m.mask')!.dtype).toBe('BOOL');
    expect(ck.tensors.get('s.scalar')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([7]) });
    expect(ck.tensors.get('e.empty')!.shape).toEqual([0, 4]);
    expect(ck.tensors.get('i.int32')).toEqual({ dtype: 'I32', shape: [1], data: new Int32Array([-5]) });
    expect(ck.tensors.get('z.last')!.data).toEqual(new Float32Array([1, -2.5, 3e-8, 4]));
  });

  it('batches dict items by 1000 and memoizes past 256 like Python (2,500 tensors)', () => {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < 2500; i++) tensors[`k${i}`] = { shape: [1], data: new Float32Array([i]) };
    const ck = parseTorchCheckpoint(serializeTorchCheckpoint(tensors));
    expect(ck.tensors.size).toBe(2500);
    expect(ck.tensors.get('k2499')!.data[0]).toBe(2499);
  });

  it('refuses invalid input with TORCH_SERIALIZE', () => {
    expect(() => serializeTorchCheckpoint({ a: { shape: [3], data: new Float32Array(2) } })).toThrow(expect.objectContaining({ code: 'TORCH_SERIALIZE' }));
    expect(() => serializeTorchCheckpoint({ a: { dtype: 'F32', shape: [2], data: new Int32Array(2) } })).toThrow(TorchFormatError);
    expect(() => serializeTorchCheckpoint({ '': { shape: [1], data: new Float32Array(1) } })).toThrow(TorchFormatError);
  });
});

