import '@tensorflow/tfjs-backend-cpu';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';

const ROOT = resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const CHILD = fileURLToPath(new URL('../testing/save-loop.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ak-save-kill-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Small seeded PRNG (mulberry32) so the kill points are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the save loop into `dir` and SIGKILLs it `delayMs` after its first complete save. */
function runAndKill(dir: string, delayMs: number): Promise<NodeJS.Signals | null> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done(signal) : fail(new Error(`save loop exited with ${code}: ${stderr}`))));
  });
}

describe('saveAdapter killed at random points', () => {
  it('every folder left behind loads as either the old or the new adapter, and no temp file survives the load', async () => {
    const random = rng(24);
    for (let k = 0; k < 8; k++) {
      const dir = join(tmp, `kill-${k}`);
      expect(await runAndKill(dir, Math.floor(random() * 150))).toBe('SIGKILL');
      const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
      await model.loadAdapter(dir);
      const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { config: { init: number; tag: string } };
      const weights = model.adapterParams('a').map((p) => [...p.variable.dataSync()]);
      // Old set: init 1, tag x, every weight 1. New set: init 2, tag q, every weight 2. Nothing in between.
      expect([1, 2]).toContain(config.config.init);
      expect(config.config.tag).toBe(config.config.init === 1 ? 'x' : 'q');
      expect(weights.flat().every((v) => v === config.config.init)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
      model.dispose();
    }
  }, 120_000);
});
