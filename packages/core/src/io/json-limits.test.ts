import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../errors';
import { readJsonObject } from './json';
import { findJsonDepthExcess, previewJsonValue } from './json-limits';
import { parseSafetensors, readSafetensors, SafetensorsError } from './safetensors';

function build(headerText: string): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

describe('findJsonDepthExcess / previewJsonValue', () => {
  it('finds the first bracket past the limit, ignoring brackets inside strings', () => {
    expect(findJsonDepthExcess('{"a": [[1]]}', 3)).toBe(-1);
    expect(findJsonDepthExcess('{"a": [[[1]]]}', 3)).toBe(8);
    expect(findJsonDepthExcess('{"a": "[[[[[\\"[[["}', 1)).toBe(-1);
  });
  it('previews any depth without recursing and stays short', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(previewJsonValue(deep)).toBe('[[…]]');
    expect(previewJsonValue('x'.repeat(10_000)).length).toBeLessThan(100);
    expect(previewJsonValue({ a: 1, b: [2] })).toBe('{"a": 1, "b": […]}');
  });
});

describe('safetensors header nesting (probe reproducers)', () => {
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    it(`a ${field} nested 100,000 deep is a SAFETENSORS_HEADER error, not a stack overflow`, async () => {
      const nested = '['.repeat(100_000) + ']'.repeat(100_000);
      const entry: Record<string, string> = { dtype: '"F32"', shape: '[0]', data_offsets: '[0, 0]' };
      entry[field] = nested;
      const text = `{"w": {${Object.entries(entry).map(([k, v]) => `"${k}": ${v}`).join(', ')}}}`;
      const bytes = build(text);
      expect(() => parseSafetensors(bytes)).toThrow(SafetensorsError);
      try {
        parseSafetensors(bytes);
      } catch (err) {
        expect((err as SafetensorsError).code).toBe('SAFETENSORS_HEADER');
        expect((err as Error).message).toMatch(/nests deeper than 64 levels/);
      }
      const dir = await mkdtemp(join(tmpdir(), 'adapterkit-deep-'));
      try {
        await writeFile(join(dir, 'a.safetensors'), bytes);
        await expect(readSafetensors(join(dir, 'a.safetensors'))).rejects.toMatchObject({ code: 'SAFETENSORS_HEADER' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
  it('an invalid shape within the depth limit gets a short message', () => {
    const bytes = build(`{"w": {"dtype": "F32", "shape": ${'['.repeat(60)}${']'.repeat(60)}, "data_offsets": [0, 0]}}`);
    try {
      parseSafetensors(bytes);
      expect.unreachable();
    } catch (err) {
      expect((err as SafetensorsError).code).toBe('SAFETENSORS_SHAPE');
      expect((err as Error).message.length).toBeLessThan(300);
    }
  });
});

describe('readJsonObject nesting', () => {
  it('rejects a config nested deeper than the limit with BAD_JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adapterkit-deep-'));
    try {
      const p = join(dir, 'adapter_config.json');
      await writeFile(p, `{"config": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
      await expect(readJsonObject(p)).rejects.toBeInstanceOf(FileFormatError);
      await expect(readJsonObject(p)).rejects.toMatchObject({ code: 'BAD_JSON' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
