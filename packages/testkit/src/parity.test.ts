import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runParity } from './parity';

const GOLDEN = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));

describe('runParity on cases it cannot run', () => {
  let dir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'parity-robust-'));
    cpSync(join(GOLDEN, 'models', 'bert'), join(dir, 'models', 'bert'), { recursive: true });
    cpSync(join(GOLDEN, 'inputs.json'), join(dir, 'inputs.json'));
    mkdirSync(join(dir, 'models', 'mamba'), { recursive: true });
    writeFileSync(join(dir, 'models', 'mamba', 'config.json'), JSON.stringify({ model_type: 'mamba' }));
    const cases = [
      { model: 'mamba', case: 'base', kind: 'base', status: 'ok', path: 'cases/mamba/base' },
      { model: 'bert', case: 'odd', kind: 'some_future_kind', status: 'ok', path: 'cases/bert/odd' },
      { model: 'bert', case: 'peft_x', kind: 'peft_lora', status: 'ok', path: 'cases/bert/peft_x' },
      { model: 'bert', case: 'no_meta', kind: 'base', status: 'ok', path: 'cases/bert/no_meta' },
    ];
    for (const c of cases) {
      mkdirSync(join(dir, c.path), { recursive: true });
      if (c.case !== 'no_meta') writeFileSync(join(dir, c.path, 'meta.json'), '{}');
    }
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ cases, tolerance: { outputs: { atol: 1e-4 }, grads: { atol: 1e-5, rtol: 1e-3 } } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports unknown model types, unknown kinds and missing capabilities as SKIP and broken cases as FAIL, with reasons', async () => {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const r = await runParity({ goldenDir: dir, plugins: [], log: (l) => lines.push(l) });
    expect(tf.memory().numTensors).toBe(before);
    const byId = new Map(r.results.map((x) => [x.id, x]));
    expect(byId.get('mamba/base')).toMatchObject({ status: 'SKIP' });
    expect(byId.get('mamba/base')!.reason).toMatch(/model_type "mamba" is not supported/);
    expect(byId.get('bert/odd')).toMatchObject({ status: 'SKIP', reason: "unknown case kind 'some_future_kind'" });
    expect(byId.get('bert/peft_x')).toMatchObject({ status: 'SKIP', reason: 'needs importPeftAdapter (@adapterkit/lora)' });
    expect(byId.get('bert/no_meta')!.status).toBe('FAIL');
    expect(byId.get('bert/no_meta')!.reason).toMatch(/meta\.json/);
    expect(lines.at(-1)).toBe('0 passed, 1 failed, 3 skipped');
  });
});
