import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport } from '@adapterkit/core';
import { discoverPlugins, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const goldenDir = fileURLToPath(new URL('../fixtures/golden', import.meta.url));

describe('parity with the reference library (fixtures/golden)', () => {
  beforeAll(async () => {
    await registerTrainingSupport();
    await tf.setBackend('cpu');
  });

  it('reproduces the base models of bert, roberta and gpt2', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir, cases: '*/base', plugins, extras, log: (l) => lines.push(l) });
    expect(lines.at(-1)).toBe('3 passed, 0 failed, 0 skipped');
    expect(r.results.map((x) => x.id)).toEqual(['bert/base', 'roberta/base', 'gpt2/base']);
  });

  it('has no failing case among all golden cases (cases of methods not installed are skipped)', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir, plugins, extras, log: (l) => lines.push(l) });
    expect(r.failed, lines.join('\n')).toBe(0);
    expect(r.passed).toBeGreaterThanOrEqual(3);
  });
});
