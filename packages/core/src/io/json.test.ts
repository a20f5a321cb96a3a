import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError } from '../errors';
import { readJsonObject } from './json';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-json-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readJsonObject', () => {
  it('returns the top-level object', async () => {
    const p = join(dir, 'ok.json');
    await writeFile(p, '{"a": 1, "b": {"c": [true, null]}}');
    expect(await readJsonObject(p)).toEqual({ a: 1, b: { c: [true, null] } });
  });

  it('throws FileFormatError naming the file: MISSING_FILE, BAD_JSON for bad syntax and for a non-object', async () => {
    const missing = join(dir, 'missing.json');
    await expect(readJsonObject(missing)).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringContaining(`${missing}: cannot read`) });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"a": ');
    const err = await readJsonObject(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect(err).toMatchObject({ code: 'BAD_JSON', message: expect.stringContaining(`${bad}: invalid JSON`) });
    for (const [name, text, got] of [['arr.json', '[1]', 'an array'], ['null.json', 'null', 'null'], ['num.json', '3', 'number']] as const) {
      const p = join(dir, name);
      await writeFile(p, text);
      await expect(readJsonObject(p)).rejects.toMatchObject({ code: 'BAD_JSON', message: `${p}: invalid JSON (expected an object at the top level, got ${got})` });
    }
  });
});
