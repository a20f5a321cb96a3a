import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFilesAtomic } from './atomic';
import { AdapterKitError } from '../errors';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes and strings, replacing existing content, with no temp files left', async () => {
    const p = join(dir, 'a.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(p))]).toEqual([1, 2, 3]);
    await writeFileAtomic(p, 'héllo');
    expect(await readFile(p, 'utf8')).toBe('héllo');
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('leaves no temp file and rethrows when the rename fails (target is a directory)', async () => {
    const target = join(dir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'x');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readdir(target)).toEqual(['keep.txt']);
  });

  it('rethrows when the directory does not exist and creates nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'f.txt'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('writeFilesAtomic', () => {
  it('creates the directory recursively and writes all files', async () => {
    const out = join(dir, 'nested', 'deeper');
    await writeFilesAtomic(out, {
      'adapter_config.json': '{"a":1}',
      'adapter.safetensors': new Uint8Array([9, 8, 7]),
    });
    expect((await readdir(out)).sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
    expect(await readFile(join(out, 'adapter_config.json'), 'utf8')).toBe('{"a":1}');
    expect([...(await readFile(join(out, 'adapter.safetensors')))]).toEqual([9, 8, 7]);
  });

  it('removes every temp file when a rename fails', async () => {
    await mkdir(join(dir, 'blocked'));
    await expect(writeFilesAtomic(dir, { 'ok.txt': 'ok', blocked: 'no' })).rejects.toThrow();
    const names = await readdir(dir);
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('rejects names with path separators before writing anything', async () => {
    const out = join(dir, 'o');
    const p = writeFilesAtomic(out, { 'good.txt': 'x', '../escape.txt': 'y' });
    await expect(p).rejects.toThrow(AdapterKitError);
    await expect(writeFilesAtomic(out, { 'a/b': 'y' })).rejects.toThrow(/invalid file name "a\/b"/);
    expect(await readdir(dir)).toEqual([]);
  });
});
