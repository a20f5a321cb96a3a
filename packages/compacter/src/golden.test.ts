import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseSafetensors, tensorEntryToTf } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff, readTensors, runParity, saveReloadDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompacterConfig, CompacterPlusPlusConfig } from './config';
import { ALL_PLUGINS, caseDir, GOLDEN_DIR, goldenModel, readJson } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CASES = [
  ['compacter_rf8', 496],
  ['compacter_pp_rf8', 280],
] as const;

describe('golden parity (adapter-transformers 3.2.1)', () => {
  it('the parity runner passes bert/compacter*, gpt2/compacter* (the rf-32 cases are rejected at addAdapter like the reference)', async () => {
    const lines: string[] = [];
    const summary = await runParity({ goldenDir: GOLDEN_DIR, cases: 'bert/compacter*,gpt2/compacter*', plugins: ALL_PLUGINS, log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect(summary.results).toHaveLength(6);
    expect(summary.failed + summary.skipped, lines.join('\n')).toBe(0);
    for (const r of summary.results.filter((x) => !x.id.endsWith('_rf8'))) {
      expect(r.reason).toMatch(/out_features 1 \(= hidden 32 \/\/ reduction_factor 32\) is not divisible by phm_dim 4/);
    }
  });

  it.each(CASES)('bert/%s through loadAdapter(adapter_full.safetensors): outputs within 1e-4, numParams = %i', async (name, count) => {
    const m = await goldenModel('bert');
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    const ref = await readTensors(join(caseDir('bert', name), 'output.safetensors'));
    try {
      const loaded = await m.loadAdapter(caseDir('bert', name), { weightsPath: join(caseDir('bert', name), 'adapter_full.safetensors') });
      expect(loaded).toBe(name);
      m.setActiveAdapters(loaded);
      const meta = readJson(join(caseDir('bert', name), 'meta.json'));
      expect(meta['trainable_params']).toBe(count);
      expect(m.adapterSummary()[0]!.numParams).toBe(count);
      expect(m.adapterParams(name).map((p) => p.key)).toContain(`shared_parameters.${name}.phm_rule`);
      const out = m.forward(inputs);
      const d = Math.max(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!), maxAbsDiff(out.poolerOutput!, ref.get('pooler_output')!));
      console.log(`bert/${name} max abs diff ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
      tf.dispose(out as never);
    } finally {
      tf.dispose([...ref.values(), ...(Object.values(inputs) as tf.Tensor[])]);
      m.dispose();
    }
  });

  it.each(CASES)("bert/%s: the reference's adapter.safetensors (no shared phm_rule) loads with a warning and runs", async (name) => {
    const warnings: string[] = [];
    const m = await goldenModel('bert', (w) => warnings.push(w));
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    const file = parseSafetensors(new Uint8Array(readFileSync(join(caseDir('bert', name), 'adapter.safetensors'))), name).tensors;
    try {
      expect(file.has(`shared_parameters.${name}.phm_rule`)).toBe(false);
      await m.loadAdapter(caseDir('bert', name), { setActive: true });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`'shared_parameters\\.${name}\\.phm_rule' is missing; keeping its initial value`));
      // every saved tensor is loaded as is
      for (const p of m.adapterParams(name)) {
        const entry = file.get(p.key);
        if (!entry) continue;
        const t = tensorEntryToTf(entry);
        expect(maxAbsDiff(p.variable, t)).toBe(0);
        t.dispose();
      }
      const out = m.forward(inputs);
      expect(out.lastHiddenState.shape).toEqual([2, 12, 32]);
      expect(Number.isFinite(tf.sum(out.lastHiddenState).arraySync() as number)).toBe(true);
      tf.dispose(out as never);
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });
});

describe('save → load', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'compacter-save-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)('bert/%s: our file includes shared_parameters.<name>.phm_rule and reloads bit-exactly', async (name) => {
    const m = await goldenModel('bert');
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    const target = join(dir, name);
    try {
      await m.loadAdapter(caseDir('bert', name), { setActive: true, weightsPath: join(caseDir('bert', name), 'adapter_full.safetensors') });
      expect(await saveReloadDiff(m, name, target, inputs)).toEqual({ maxDiff: 0, loadedName: name });
      const saved = parseSafetensors(new Uint8Array(readFileSync(join(target, 'adapter.safetensors'))), name).tensors;
      const full = parseSafetensors(new Uint8Array(readFileSync(join(caseDir('bert', name), 'adapter_full.safetensors'))), name).tensors;
      expect([...saved.keys()].sort()).toEqual([...full.keys()].sort());
      expect(saved.get(`shared_parameters.${name}.phm_rule`)!.shape).toEqual([4, 4, 4]);
      // the config file is the reference's, byte for byte
      expect(readFileSync(join(target, 'adapter_config.json'), 'utf8')).toBe(readFileSync(join(caseDir('bert', name), 'adapter_config.json'), 'utf8'));
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });

  it.each([
    ['compacter_rf8', () => CompacterConfig({ reductionFactor: 8 })],
    ['compacter_pp_rf8', () => CompacterPlusPlusConfig({ reductionFactor: 8 })],
  ] as const)('a new %s adapter writes the reference adapter_config.json and the same keys and shapes as the reference', async (name, config) => {
    const m = await goldenModel('bert');
    const target = join(dir, `new-${name}`);
    try {
      m.addAdapter(name, config());
      await m.saveAdapter(target, name);
      expect(readFileSync(join(target, 'adapter_config.json'), 'utf8')).toBe(readFileSync(join(caseDir('bert', name), 'adapter_config.json'), 'utf8'));
      const shapes = (file: string): Record<string, number[]> =>
        Object.fromEntries([...parseSafetensors(new Uint8Array(readFileSync(file)), file).tensors].map(([k, t]) => [k, t.shape]));
      expect(shapes(join(target, 'adapter.safetensors'))).toEqual(shapes(join(caseDir('bert', name), 'adapter_full.safetensors')));
    } finally {
      m.dispose();
    }
  });
});
