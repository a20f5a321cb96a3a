import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import type { AdapterCompanion } from './adapter-companion';
import { AdapterModel } from './adapter-model';

const tmp = mkdtempSync(join(tmpdir(), 'ak-companion-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A companion that saves a note per adapter name (`<file>`) and keeps what it loaded in its own map. */
function noteCompanion(file: string, opts: { failLoad?: boolean } = {}) {
  const notes = new Map<string, string>(); // what the model "has" (this companion's state, not global)
  const loaded = new Map<string, string>(); // what load() brought in
  const companion: AdapterCompanion = {
    name: `note ${file}`,
    async serialize(_model, name) {
      const note = notes.get(name);
      return note === undefined ? undefined : { [file]: JSON.stringify({ name, note }) };
    },
    async load(_model, dir, name) {
      if (!(await dir.has(file))) return false;
      if (opts.failLoad) throw new Error(`cannot load ${file}`);
      const doc = JSON.parse(new TextDecoder().decode(await dir.read(file))) as { note: string };
      loaded.set(name, doc.note);
      return true;
    },
    remove(_model, name) {
      loaded.delete(name);
    },
  };
  return { companion, notes, loaded };
}

const toyModel = (): AdapterModel => new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });

describe('adapter companions are passed per call, never registered', () => {
  it('saves companion files in the same write and loads them under the adapter name', async () => {
    const model = toyModel();
    model.addAdapter('a', 'toy');
    model.addAdapter('b', 'toy');
    const { companion, notes, loaded } = noteCompanion('note.json');
    notes.set('a', 'hello');
    await model.saveAdapter(join(tmp, 'a'), 'a', { companions: [companion] });
    expect(readdirSync(join(tmp, 'a')).sort()).toEqual(['adapter.safetensors', 'adapter_config.json', 'note.json']);
    expect(JSON.parse(readFileSync(join(tmp, 'a', 'note.json'), 'utf8'))).toEqual({ name: 'a', note: 'hello' });
    // no module of that name: the adapter alone; no companions: the adapter alone
    await model.saveAdapter(join(tmp, 'b'), 'b', { companions: [companion] });
    await model.saveAdapter(join(tmp, 'a-plain'), 'a');
    for (const d of ['b', 'a-plain']) expect(readdirSync(join(tmp, d)).sort(), d).toEqual(['adapter.safetensors', 'adapter_config.json']);

    const fresh = toyModel();
    expect(await fresh.loadAdapter(join(tmp, 'a'), { loadAs: 'x', companions: [companion] })).toBe('x');
    expect(loaded.get('x')).toBe('hello');
    expect(await fresh.loadAdapter(join(tmp, 'a'), { loadAs: 'y' })).toBe('y'); // not asked: the note is not read
    expect(loaded.has('y')).toBe(false);
    model.dispose();
    fresh.dispose();
  });

  it('a companion that fails to load rolls back the adapter and the companions loaded before it', async () => {
    const model = toyModel();
    model.addAdapter('a', 'toy');
    const first = noteCompanion('first.json');
    const second = noteCompanion('second.json', { failLoad: true });
    first.notes.set('a', '1');
    second.notes.set('a', '2');
    await model.saveAdapter(join(tmp, 'two'), 'a', { companions: [first.companion, second.companion] });
    const fresh = toyModel();
    const before = tf.memory().numTensors;
    await expect(fresh.loadAdapter(join(tmp, 'two'), { companions: [first.companion, second.companion] })).rejects.toThrow(/cannot load second\.json/);
    expect(fresh.adapterNames()).toEqual([]);
    expect(first.loaded.size).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    fresh.dispose();
  });

  it('typed errors: a file two parts would write, a malformed or repeated companion, the removed withHead', async () => {
    const model = toyModel();
    model.addAdapter('a', 'toy');
    const clash = noteCompanion('adapter_config.json');
    clash.notes.set('a', 'x');
    await expect(model.saveAdapter(join(tmp, 'clash'), 'a', { companions: [clash.companion] })).rejects.toMatchObject({
      code: 'COMPANION_FILE_CLASH',
      message: expect.stringMatching(/note adapter_config\.json companion writes 'adapter_config\.json', which adapter 'a' writes too/),
    });
    expect(existsSync(join(tmp, 'clash'))).toBe(false);
    const ok = noteCompanion('n.json').companion;
    await expect(model.saveAdapter(join(tmp, 'bad'), 'a', { companions: [ok, ok] })).rejects.toMatchObject({ code: 'BAD_COMPANION', message: expect.stringMatching(/names 'note n\.json' twice/) });
    await expect(model.saveAdapter(join(tmp, 'bad'), 'a', { companions: [{ name: 'x' } as never] })).rejects.toMatchObject({ code: 'BAD_COMPANION', message: expect.stringMatching(/\[0\] is not an AdapterCompanion/) });
    await expect(model.saveAdapter(join(tmp, 'bad'), 'a', { withHead: true } as never)).rejects.toMatchObject({ code: 'OPTION_REMOVED', message: expect.stringMatching(/headCompanion/) });
    await model.saveAdapter(join(tmp, 'good'), 'a');
    const fresh = toyModel();
    await expect(fresh.loadAdapter(join(tmp, 'good'), { withHead: true } as never)).rejects.toMatchObject({ code: 'OPTION_REMOVED' });
    expect(fresh.adapterNames()).toEqual([]);
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
    model.dispose();
    fresh.dispose();
  });
});
