import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseTorchCheckpoint, serializeTorchCheckpoint } from './index';
import { FIXTURES, readSafetensorsF32 } from './test-helpers';

/** Every `.bin` of the golden folders: the repo's copy, and `../shared/golden` beside the repo when present. */
function binFiles(): string[] {
  const roots = [join(FIXTURES, '..', '..', '..', 'fixtures', 'golden'), join(FIXTURES, '..', '..', '..', '..', 'shared', 'golden')];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.bin')) out.push(p);
    }
  };
  for (const r of roots) if (existsSync(r)) walk(r);
  return out;
}

const files = binFiles();

describe('golden .bin files written by adapter-transformers 3.2.1 (torch 1.13)', () => {
  it('finds them', () => expect(files.length).toBeGreaterThanOrEqual(10));
  it.each(files)('%s: read, and written back byte for byte', (path) => {
    const bytes = new Uint8Array(readFileSync(path));
    const ck = parseTorchCheckpoint(bytes, path);
    expect(ck.format).toBe('zip');
    const again = serializeTorchCheckpoint(ck.tensors as Map<string, { shape: number[]; data: Float32Array }>, { archiveName: basename(path).split('.')[0]! });
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    const st = join(dirname(path), 'adapter.safetensors');
    if (basename(path) === 'pytorch_adapter.bin' && existsSync(st)) {
      const ref = readSafetensorsF32(st);
      expect([...ck.tensors.keys()].sort()).toEqual([...ref.keys()].sort());
      for (const [k, t] of ck.tensors) {
        expect(t.shape).toEqual(ref.get(k)!.shape);
        expect(t.data).toEqual(ref.get(k)!.data);
      }
    }
  });
});
