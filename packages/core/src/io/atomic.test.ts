import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverAtomicWrites, writeFileAtomic, writeFilesAtomic } from './atomic';
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

describe('recoverAtomicWrites (leftovers of a killed writer)', () => {
  // A pid no process has (above Linux's pid_max): the writer is gone.
  const DEAD = 999_999_999;
  it('rolls a committed set forward: every listed temp file is renamed into place, the record removed', async () => {
    await writeFile(join(dir, 'a.json'), 'old-a');
    await writeFile(join(dir, 'b.bin'), 'old-b');
    // killed after the record and the first rename: a.json is new already, b.bin's temp file is still there
    await writeFile(join(dir, 'a.json'), 'new-a');
    await writeFile(join(dir, `b.bin.tmp-${DEAD}-0123456789ab`), 'new-b');
    const record = { version: 1, renames: [{ tmp: `a.json.tmp-${DEAD}-aaaaaaaaaaaa`, target: 'a.json' }, { tmp: `b.bin.tmp-${DEAD}-0123456789ab`, target: 'b.bin' }] };
    await writeFile(join(dir, `.adapterkit-commit-${DEAD}-ffffffffffff.json`), JSON.stringify(record));
    expect(await recoverAtomicWrites(dir)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.bin']);
    expect(await readFile(join(dir, 'b.bin'), 'utf8')).toBe('new-b');
  });
  it('removes temp files of an uncommitted write and keeps the old files', async () => {
    await writeFile(join(dir, 'a.json'), 'old-a');
    await writeFile(join(dir, `a.json.tmp-${DEAD}-0123456789ab`), 'new-a');
    await writeFile(join(dir, `.adapterkit-commit-${DEAD}-ffffffffffff.json.tmp-${DEAD}-abcdefabcdef`), '{"vers');
    await writeFile(join(dir, 'unrelated.tmp-notours'), 'x');
    expect(await recoverAtomicWrites(dir)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'unrelated.tmp-notours']);
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('old-a');
    expect(await recoverAtomicWrites(dir)).toBe(false);
  });
  it('leaves the temp files of a writer that is still running alone', async () => {
    const live = `a.json.tmp-${process.pid}-0123456789ab`;
    await writeFile(join(dir, live), 'in progress');
    expect(await recoverAtomicWrites(dir)).toBe(false);
    expect(await readdir(dir)).toEqual([live]);
  });
  it('writeFilesAtomic cleans up leftovers before it writes', async () => {
    await writeFile(join(dir, `x.tmp-${DEAD}-0123456789ab`), 'stale');
    await writeFilesAtomic(dir, { 'x': 'fresh' });
    expect(await readdir(dir)).toEqual(['x']);
  });
});
