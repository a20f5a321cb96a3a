/**
 * Acceptance of issue 17: every single-adapter and composition case of the golden folders loads from a copy of
 * its folder with the weights `.safetensors` files removed (only `pytorch_adapter.bin`, `pytorch_model_head.bin`,
 * fusion `.bin` left) and matches at the same tolerance (`pnpm parity --prefer-bin`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport } from '@adapterkit/core';
import { discoverPlugins, readGoldenIndex, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const dirs = [fileURLToPath(new URL('../fixtures/golden', import.meta.url)), fileURLToPath(new URL('../../shared/golden', import.meta.url))].filter((d) =>
  existsSync(`${d}/index.json`),
);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe.each(dirs)('parity from the reference .bin files: %s', (goldenDir) => {
  it('every single-adapter and composition case passes with only .bin weights', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const ids = readGoldenIndex(goldenDir)
      .cases.filter((c) => c.kind === 'single_adapter' || c.kind === 'composition')
      .map((c) => `${c.model}/${c.case}`);
    const lines: string[] = [];
    const r = await runParity({ goldenDir, cases: ids.join(','), plugins, extras, preferBin: true, log: (l) => lines.push(l) });
    expect(r.results.length).toBe(ids.length);
    expect(r.failed, lines.join('\n')).toBe(0);
    // skipped only where the reference itself failed, so there is nothing to compare
    for (const s of r.results.filter((x) => x.status === 'SKIP')) expect(s.reason).toMatch(/the reference library fails/);
    expect(lines[0]).toMatch(/from the reference \.bin files/);
  }, 600_000);
});
