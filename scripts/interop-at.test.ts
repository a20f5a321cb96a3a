/**
 * Interop proof (issue 17): adapters saved by AdapterKit with `format: 'bin'` load in adapter-transformers 3.2.1
 * (`model.load_adapter(dir)`) and give the reference outputs. Runs only when `ADAPTERKIT_REFERENCE_AT` points at
 * the library's sources (`…/adapter-transformers/src`; huggingface_hub v0.13.4 sources in
 * `ADAPTERKIT_REFERENCE_HFH`, else beside it) and Debian's `/usr/bin/python3` has torch; see
 * packages/torch-format/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { headCompanion } from '@adapterkit/training';
import { AdapterModel, registerTrainingSupport } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { discoverPlugins, readGoldenIndex, readMeta } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const AT = process.env['ADAPTERKIT_REFERENCE_AT'];
const HFH = process.env['ADAPTERKIT_REFERENCE_HFH'] ?? (AT ? join(AT, '..', '..', 'hfh', 'src') : undefined);
const golden = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const script = fileURLToPath(new URL('../packages/torch-format/interop/at_load_check.py', import.meta.url));
if (!AT) console.warn('[interop-at] skipped: set ADAPTERKIT_REFERENCE_AT=/path/to/adapter-transformers/src to run it');

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe.skipIf(!AT || !existsSync('/usr/bin/python3'))('adapter-transformers 3.2.1 loads what we save as .bin', () => {
  it('every single-adapter golden case: saved here with format bin, loaded there, reference outputs', async () => {
    const { plugins } = await discoverPlugins((p) => import(p));
    const index = readGoldenIndex(golden);
    const cases = index.cases.filter((c) => c.kind === 'single_adapter' && c.status === 'ok' && c.outputs);
    const out = mkdtempSync(join(tmpdir(), 'adapterkit-at-interop-'));
    try {
      for (const c of cases) {
        const meta = readMeta(golden, c);
        const model = new AdapterModel(await loadHost(join(golden, 'models', c.model)), { methods: plugins, warn: () => undefined });
        const dir = join(golden, c.path);
        const full = join(dir, 'adapter_full.safetensors');
        const name = await model.loadAdapter(dir, existsSync(full) ? { weightsPath: full } : {});
        await model.saveAdapter(join(out, c.model, c.case), name, { format: 'bin', keyPrefix: String(meta['key_prefix'] ?? '') });
        model.dispose();
      }
      const ids = cases.map((c) => `${c.model}/${c.case}`);
      const lines = execFileSync('/usr/bin/python3', [script, golden, out, ...ids], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: [AT, HFH].join(':') },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { case: string; max_abs_diff: number });
      console.log(lines.map((l) => `${l.case} ${l.max_abs_diff.toExponential(2)}`).join('\n'));
      expect(lines.map((l) => l.case)).toEqual(ids);
      for (const l of lines) expect(l.max_abs_diff, l.case).toBeLessThanOrEqual(index.tolerance.outputs.atol);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it('GPT-2 invertible cases, and a flex causal-LM head saved as pytorch_model_head.bin (companions: [headCompanion])', async () => {
    const { plugins } = await discoverPlugins((p) => import(p));
    const dirInv = fileURLToPath(new URL('../fixtures/gpt2-invertible', import.meta.url));
    const index = readGoldenIndex(dirInv);
    const out = mkdtempSync(join(tmpdir(), 'adapterkit-at-interop-'));
    try {
      for (const c of index.cases) {
        const flex = c.kind === 'flex_head';
        const model = new AdapterModel(await loadHost(join(dirInv, 'models', c.model)), { methods: plugins, warn: () => undefined });
        const name = await model.loadAdapter(join(dirInv, c.path), { companions: flex ? [headCompanion] : [] });
        await model.saveAdapter(join(out, c.model, c.case), name, { format: 'bin', keyPrefix: flex ? '' : 'transformer.', companions: flex ? [headCompanion] : [] });
        model.dispose();
      }
      const ids = index.cases.map((c) => `${c.model}/${c.case}`);
      const lines = execFileSync('/usr/bin/python3', [script, dirInv, out, ...ids], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: [AT, HFH].join(':') }, stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { case: string; max_abs_diff: number; outputs: Record<string, number> });
      console.log(lines.map((l) => `${l.case} ${JSON.stringify(l.outputs)}`).join('\n'));
      expect(lines.map((l) => l.case)).toEqual(ids);
      for (const l of lines) {
        expect(Object.keys(l.outputs)).toContain('logits');
        expect(l.max_abs_diff, l.case).toBeLessThanOrEqual(index.tolerance.outputs.atol);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
