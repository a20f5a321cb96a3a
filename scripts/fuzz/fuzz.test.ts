import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdapterConfigError } from '@adapterkit/core';
import { fuzzTarget, mutate, FuzzRng, utf8, type FuzzTarget } from './harness';
import { cleanupTargets, makeTargets } from './targets';

const work = mkdtempSync(join(tmpdir(), 'ak-fuzz-test-'));
afterAll(() => cleanupTargets(work));

describe('fuzz harness', () => {
  it('is deterministic for a seed', () => {
    const a = mutate(utf8('{"a": [1, 2]}'), new FuzzRng(5), []);
    const b = mutate(utf8('{"a": [1, 2]}'), new FuzzRng(5), []);
    expect([...a]).toEqual([...b]);
  });
  it('counts typed errors as expected and saves a reproducer for anything else', async () => {
    const out = join(work, 'repro');
    const target: FuzzTarget = {
      name: 'probe',
      seeds: [utf8('abc')],
      run: (b) => {
        if (b.length % 2 === 0) throw new AdapterConfigError('X', 'typed');
        if (b.includes(0x7b)) throw new TypeError('untyped');
        return b.length;
      },
    };
    const r = await fuzzTarget(target, { inputs: 300, seed: 1, outDir: out });
    expect(r.inputs).toBe(300);
    expect(r.typed).toBeGreaterThan(0);
    expect(r.unexpected).toBeGreaterThan(0);
    expect(r.ok + r.typed + r.unexpected).toBe(300);
    expect(readdirSync(out).filter((f) => f.endsWith('.bin'))).toHaveLength(r.unexpected);
    rmSync(out, { recursive: true, force: true });
  });
});

describe('pnpm fuzz, short budget (every reader and parser)', async () => {
  const targets = await makeTargets(work);
  it.each(targets.map((t) => [t.name, t] as const))('%s: 150 inputs, nothing unexpected', async (_name, t) => {
    const r = await fuzzTarget(t, { inputs: 150, seed: 7, outDir: join(work, 'repro') });
    expect(r.reproducers).toEqual([]);
    expect(r.inputs).toBe(150);
    expect(r.typed).toBeGreaterThan(0);
  });
});
