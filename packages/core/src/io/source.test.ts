import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { writeZipFiles } from '@adapterkit/torch-format';
import { afterAll, describe, expect, it } from 'vitest';
import { AdapterModel } from '../model/adapter-model';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { baseName, dirName, filesSource, joinPath, readBytes, readText, refLabel, toSource, writeFiles, type DirectoryHandleLike, type FileBytes } from './source';

const tmp = mkdtempSync(join(tmpdir(), 'adapterkit-source-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('file sources', () => {
  it('joins and splits paths and URLs', () => {
    expect(joinPath('/a/b/', 'c.json')).toBe('/a/b/c.json');
    expect(joinPath('https://x.org/m', './c.json')).toBe('https://x.org/m/c.json');
    expect(baseName('/a/b/c.json')).toBe('c.json');
    expect(dirName('/a/b/c.json')).toBe('/a/b');
    expect(dirName('c.json')).toBe('.');
  });

  it('reads a map of files, looking through a single top folder, with sub-folders', async () => {
    const src = toSource(new Map<string, FileBytes>([['my/a.json', '{"x":1}'], ['my/sub/b.bin', new Uint8Array([1, 2])]]));
    expect(await readText({ source: src, name: 'a.json' })).toBe('{"x":1}');
    expect(await src.has('missing')).toBe(false);
    expect([...(await src.dir('sub').read('b.bin'))!]).toEqual([1, 2]);
    expect(await src.list!()).toEqual(['a.json']);
    await expect(readBytes({ source: src, name: 'missing.json' })).rejects.toMatchObject({ code: 'MISSING_FILE', message: '<files>/missing.json: cannot read (no such file)' });
  });

  it('reads a zip archive given as bytes or as a Blob, and rejects a buffer that is not one', async () => {
    const zip = writeZipFiles({ 'x/adapter_config.json': '{}', 'x/w.bin': new Uint8Array([7]) });
    expect(await readText({ source: toSource(zip), name: 'adapter_config.json' })).toBe('{}');
    const blob = toSource(new Blob([zip]));
    expect([...(await blob.read('w.bin'))!]).toEqual([7]);
    expect(() => toSource(new Uint8Array([1, 2, 3, 4]))).toThrow(/must be a zip archive/);
  });

  it('reads a directory handle (File System Access API shape)', async () => {
    const notFound = (): never => {
      throw Object.assign(new Error('nope'), { name: 'NotFoundError' });
    };
    const dir = (files: Record<string, string>, dirs: Record<string, DirectoryHandleLike> = {}): DirectoryHandleLike => ({
      kind: 'directory',
      name: 'root',
      getDirectoryHandle: async (n) => dirs[n] ?? notFound(),
      getFileHandle: async (n) => (n in files ? { getFile: async () => new Blob([files[n]!]) } : notFound()),
    });
    const src = toSource(dir({ 'a.txt': 'A' }, { s: dir({ 'b.txt': 'B' }) }));
    expect(await readText({ source: src, name: 'a.txt' })).toBe('A');
    expect(await readText({ source: src.dir('s'), name: 'b.txt' })).toBe('B');
    expect(await src.has('c.txt')).toBe(false);
  });

  it('uses the file system for Node paths and writes to paths, maps and sinks', async () => {
    await writeFiles(tmp, { 'a.txt': 'hi' });
    expect(await readText(join(tmp, 'a.txt'))).toBe('hi');
    const map = new Map<string, Uint8Array>();
    await writeFiles(map, { 'a.txt': 'hi', 'b.bin': new Uint8Array([1]) });
    expect([...map.keys()]).toEqual(['a.txt', 'b.bin']);
    expect(refLabel({ source: toSource(tmp), name: 'a.txt' })).toBe(join(tmp, 'a.txt'));
  });

  it('saves an adapter into a Map, zips it, and loads it back from the zip with the same weights', async () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', 'toy_big', { setActive: true });
    const files = new Map<string, Uint8Array>();
    await model.saveAdapter(files, 'a');
    expect([...files.keys()].sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const before = model.forward({ inputIds: ids }).lastHiddenState;
    const zip = writeZipFiles(new Map([...files].map(([k, v]) => [`a/${k}`, v])));
    const other = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const name = await other.loadAdapter(new Blob([zip]));
    other.setActiveAdapters(name);
    const after = other.forward({ inputIds: ids }).lastHiddenState;
    expect(tf.max(tf.abs(tf.sub(before, after))).dataSync()[0]).toBe(0);
    // The same folder as a plain map loads too; a missing config is reported with the file name.
    expect(await new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] }).loadAdapter(files, { loadAs: 'b' })).toBe('b');
    await expect(other.loadAdapter(filesSource({ 'x.txt': '' }), { loadAs: 'c' })).rejects.toThrow('<files>/adapter_config.json: cannot read');
    model.dispose();
    other.dispose();
  });
});
