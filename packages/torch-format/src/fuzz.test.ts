import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTorchCheckpoint, serializeTorchCheckpoint, TorchFormatError } from './index';
import { deflateRawSync } from 'node:zlib';
import { FIXTURES, fixture, rng, zipDeflated } from './test-helpers';
import { readZipDirectory, writeZip } from './zip';

const golden = join(FIXTURES, '..', '..', '..', 'fixtures', 'golden', 'cases', 'bert', 'pfeiffer', 'pytorch_adapter.bin');

const seeds: [string, Uint8Array][] = [
  ['mixed.zip.bin', fixture('mixed.zip.bin')],
  ['mixed.legacy.bin', fixture('mixed.legacy.bin')],
  ['written.bin', serializeTorchCheckpoint({ a: { shape: [2, 3], data: new Float32Array(6).fill(1.5) }, b: { shape: [], data: new Int32Array([4]) } })],
  ...(existsSync(golden) ? [['pfeiffer.bin', new Uint8Array(readFileSync(golden))] as [string, Uint8Array]] : []),
];
/** The zip fixture re-packed with deflated entries, so mutants reach the inflater too. */
function deflatedSeed(): Uint8Array {
  const src = seeds[0]![1];
  const dir = readZipDirectory(src, 'seed', { maxEntries: 100, maxInflatedBytes: 0, verifyCrc: false });
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  return zipDeflated(
    [...dir.values()].map((e) => {
      const start = e.headerOffset + 30 + v.getUint16(e.headerOffset + 26, true) + v.getUint16(e.headerOffset + 28, true);
      const data = src.slice(start, start + e.size);
      return { name: e.name, data, comp: new Uint8Array(deflateRawSync(data)) };
    }),
  );
}
seeds.push(['mixed.deflated.bin', deflatedSeed()]);

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x28, 0x2e, 0x52, 0x63, 0x71, 0x68, 0x51, 0x74, 0x75, 0x8a, 0x58];

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(r() * b.length);
    switch (Math.floor(r() * 7)) {
      case 0:
        b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
        break;
      case 1:
        b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)]!;
        break;
      case 2:
        b = b.slice(0, at);
        break;
      case 3: {
        const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256));
        b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 4: {
        const v = [0xffffffff, 0x7fffffff, 0x80000000, Math.floor(r() * 2 ** 32), 0][Math.floor(r() * 5)]!;
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
        break;
      }
      case 5:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + Math.floor(r() * 16)))]);
        break;
      default: {
        const from = Math.floor(r() * b.length);
        const len = Math.floor(r() * 32);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(from, from + len), ...b.subarray(at)]);
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

/** Mutates only the pickle of a zip checkpoint and re-zips it with valid CRCs, so mutants reach the unpickler. */
function mutatePickle(src: Uint8Array, r: () => number): Uint8Array {
  const dir = readZipDirectory(src, 'seed', { maxEntries: 100, maxInflatedBytes: 0, verifyCrc: false });
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const entries = [...dir.values()].map((e) => {
    const start = e.headerOffset + 30 + v.getUint16(e.headerOffset + 26, true) + v.getUint16(e.headerOffset + 28, true);
    const data = src.slice(start, start + e.size);
    return { name: e.name, data: e.name.endsWith('data.pkl') ? mutate(data, r) : data };
  });
  return writeZip(entries);
}

describe('fuzz: mutated .bin files give only typed errors', () => {
  it('12,000 seeded mutants (raw bytes, CRC on and off; pickle-only with valid CRCs)', () => {
    const r = rng(17);
    const codes = new Map<string, number>();
    let ok = 0;
    let inflateErrors = 0;
    const N = 12_000;
    for (let i = 0; i < N; i++) {
      const [name, seed] = seeds[i % seeds.length]!;
      const mode = Math.floor(r() * 3);
      const zip = seed[0] === 0x50 && name !== 'mixed.deflated.bin';
      const bytes = mode === 2 && zip ? mutatePickle(seed, r) : mutate(seed, r);
      try {
        parseTorchCheckpoint(bytes, `${name}#${i}`, { verifyCrc: mode !== 1 });
        ok++;
      } catch (err) {
        if (!(err instanceof TorchFormatError)) {
          throw new Error(`mutant ${i} of ${name} (mode ${mode}) threw an untyped error: ${String(err)}`, { cause: err });
        }
        expect(err.message.startsWith(`${name}#${i}`)).toBe(true);
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
        if (/deflate/.test(err.message)) inflateErrors++;
      }
    }
    // the mutants reach every layer: zip, pickle, storages, tensors
    for (const c of ['TORCH_ZIP', 'TORCH_PICKLE', 'TORCH_STORAGE', 'TORCH_LEGACY']) expect(codes.get(c) ?? 0).toBeGreaterThan(0);
    expect(inflateErrors).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
  });
});
