/** Helpers shared by this package's tests (not exported from the package). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's `fixtures/` folder. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A fixture file's bytes. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** A seeded generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pickle bytes from opcodes: numbers are bytes, strings are latin1 text. */
export function pickleBytes(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

/** A tiny safetensors reader for comparing golden files (F32 only). */
export function readSafetensorsF32(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const bytes = b.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]);
    out.set(k, { shape: v.shape, data: new Float32Array(Uint8Array.from(bytes).buffer) });
  }
  return out;
}
