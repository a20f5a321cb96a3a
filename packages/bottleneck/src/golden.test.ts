import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { goldenInputs, runParity, saveReloadDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugins } from './index';
import { caseDir, GOLDEN_DIR, goldenModel, readJson, testNiceExtension, testPhmExtension } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CASES = ['bert/pfeiffer', 'bert/houlsby', 'bert/parallel', 'bert/scaled_parallel', 'bert/bottleneck_custom', 'gpt2/pfeiffer'];

describe('golden parity (adapter-transformers 3.2.1) through loadAdapter, as the parity runner does', () => {
  it.each(CASES)('%s within 1e-4, parameter count = trainable_params', async (id) => {
    const lines: string[] = [];
    const { results } = await runParity({ goldenDir: GOLDEN_DIR, cases: id, plugins, log: (l) => lines.push(l) });
    expect(results, lines.join('\n')).toHaveLength(1);
    expect(results[0]!.status, lines.join('\n')).toBe('PASS');
    expect(results[0]!.maxAbsDiff!).toBeLessThanOrEqual(1e-4);
    console.log(lines[0]);
  });

  it.each(CASES)('%s: loadAdapter keeps the saved name and adapterSummary counts trainable_params', async (id) => {
    const [model, name] = id.split('/') as ['bert' | 'gpt2', string];
    const m = await goldenModel(model);
    try {
      expect(await m.loadAdapter(caseDir(model, name))).toBe(name);
      expect(m.adapterSummary()[0]!.numParams).toBe(readJson(join(caseDir(model, name), 'meta.json'))['trainable_params']);
    } finally {
      m.dispose();
    }
  });
});

describe('the invertible contract with a test NICE provider', () => {
  it.each(['bert/pfeiffer_inv', 'bert/houlsby_inv', 'bert/comp_stack'])('%s within 1e-4 (Stack: only the first adapter applies its invertible adapter)', async (id) => {
    const lines: string[] = [];
    const { results } = await runParity({ goldenDir: GOLDEN_DIR, cases: id, plugins: [...plugins, testNiceExtension], log: (l) => lines.push(l) });
    expect(results[0]!.status, lines.join('\n')).toBe('PASS');
    console.log(lines[0]);
  });
});

describe('the projection contract with a test PHM provider', () => {
  it.each(['bert/compacter_rf8', 'bert/compacter_pp_rf8'])('%s within 1e-4 (shared rule registered once under shared_parameters)', async (id) => {
    const lines: string[] = [];
    const { results } = await runParity({ goldenDir: GOLDEN_DIR, cases: id, plugins: [...plugins, testPhmExtension], log: (l) => lines.push(l) });
    expect(results[0]!.status, lines.join('\n')).toBe('PASS');
    console.log(lines[0]);
  });
});

describe('save → load', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bottleneck-save-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const SAVE_CASES: Array<[string, string | Record<string, unknown>]> = [
    ['bert/pfeiffer', 'pfeiffer'],
    ['bert/houlsby', 'houlsby'],
    ['bert/parallel', 'parallel'],
    ['bert/scaled_parallel', 'scaled_parallel'],
    ['bert/bottleneck_custom', 'bottleneck[mh_adapter=True, output_adapter=True, reduction_factor=4, non_linearity="relu", residual_before_ln=False, ln_before=True]'],
    ['gpt2/pfeiffer', 'pfeiffer'],
  ];

  it.each(SAVE_CASES)('%s: adapter_config.json equals the reference file; reload gives identical outputs', async (id, config) => {
    const [model, name] = id.split('/') as ['bert' | 'gpt2', string];
    const m = await goldenModel(model);
    const inputs = goldenInputs(GOLDEN_DIR, model);
    const target = join(dir, id.replace('/', '-'));
    try {
      m.addAdapter(name, config as string, { setActive: true });
      expect(await saveReloadDiff(m, name, target, inputs)).toEqual({ maxDiff: 0, loadedName: name });
      const ours = readFileSync(join(target, 'adapter_config.json'), 'utf8');
      const golden = readFileSync(join(caseDir(model, name), 'adapter_config.json'), 'utf8');
      if (model === 'bert') {
        expect(ours).toBe(golden);
      } else {
        // The reference ran GPT2LMHeadModel; our host is the bare GPT2Model. The config block must be identical.
        expect(JSON.parse(ours).config).toEqual(JSON.parse(golden).config);
        expect(ours.slice(0, ours.indexOf('"hidden_size"'))).toBe(golden.slice(0, golden.indexOf('"hidden_size"')));
      }
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });
});
