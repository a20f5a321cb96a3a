/**
 * Acceptance of issue 17: every single-adapter and composition case of the golden folders loads from a copy of
 * its folder with the weights `.safetensors` files removed (only `pytorch_adapter.bin`, `pytorch_model_head.bin`,
 * fusion `.bin` left) and matches at the same tolerance (`pnpm parity --prefer-bin`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterModel, registerTrainingSupport } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { discoverPlugins, readGoldenIndex, readMeta, runParity } from '@adapterkit/testkit';
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

/** Cases whose adapter state dict we hold exactly as the reference (no alias keys, no parameters its file lacks). */
const BYTE_IDENTICAL = ['bert/pfeiffer', 'bert/houlsby', 'bert/parallel', 'bert/scaled_parallel', 'bert/pfeiffer_inv', 'bert/houlsby_inv', 'bert/union', 'bert/lora', 'bert/ia3', 'gpt2/pfeiffer', 'gpt2/lora', 'gpt2/ia3'];

describe('saveAdapter with format bin writes what adapter-transformers 3.2.1 writes', () => {
  it.each(BYTE_IDENTICAL)('%s: pytorch_adapter.bin byte for byte (key order, dtype, shape, data, zip layout)', async (id) => {
    const goldenDir = dirs[0]!;
    const c = readGoldenIndex(goldenDir).cases.find((x) => `${x.model}/${x.case}` === id)!;
    const { plugins } = await discoverPlugins((p) => import(p));
    const model = new AdapterModel(await loadHost(join(goldenDir, 'models', c.model)), { methods: plugins, warn: () => undefined });
    const out = mkdtempSync(join(tmpdir(), 'adapterkit-bin-'));
    try {
      const name = await model.loadAdapter(join(goldenDir, c.path));
      await model.saveAdapter(out, name, { format: 'bin', keyPrefix: String(readMeta(goldenDir, c)['key_prefix'] ?? '') });
      expect(readFileSync(join(out, 'pytorch_adapter.bin')).equals(readFileSync(join(goldenDir, c.path, 'pytorch_adapter.bin')))).toBe(true);
      expect(existsSync(join(out, 'adapter.safetensors'))).toBe(false);
    } finally {
      model.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
