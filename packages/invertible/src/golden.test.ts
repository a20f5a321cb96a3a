import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, AdapterModel, Stack } from '@adapterkit/core';
import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff, readTensors, runParity, saveReloadDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoubleSeqBnInvConfig, HoulsbyInvConfig, PfeifferInvConfig, SeqBnInvConfig } from './index';
import { ALL_PLUGINS, caseDir, GOLDEN_DIR, goldenModel, randomise, readJson } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CASES = ['bert/pfeiffer_inv', 'bert/houlsby_inv', 'bert/comp_stack'];

describe('golden parity (adapter-transformers 3.2.1) as the parity runner runs it', () => {
  it.each(CASES)('%s: PASS within 1e-4 (parameter count = trainable_params)', async (id) => {
    const lines: string[] = [];
    const { results } = await runParity({ goldenDir: GOLDEN_DIR, cases: id, plugins: ALL_PLUGINS, log: (l) => lines.push(l) });
    expect(results, lines.join('\n')).toHaveLength(1);
    expect(results[0]!.status, lines.join('\n')).toBe('PASS');
    expect(results[0]!.maxAbsDiff!).toBeLessThanOrEqual(1e-4);
    console.log(lines[0]);
  });

  it('bert/pfeiffer_inv_glow: the reference cannot run GLOW, so the runner skips it', async () => {
    const { results } = await runParity({ goldenDir: GOLDEN_DIR, cases: 'bert/pfeiffer_inv_glow', plugins: ALL_PLUGINS, log: () => undefined });
    expect(results[0]!.status).toBe('SKIP');
  });
});

/** Compare a model's outputs with a case's output.safetensors. */
async function expectGolden(m: AdapterModel, dir: string): Promise<number> {
  const inputs = goldenInputs(GOLDEN_DIR, 'bert');
  const ref = await readTensors(join(dir, 'output.safetensors'));
  const out = m.forward(inputs);
  const diff = Math.max(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!), maxAbsDiff(out.poolerOutput!, ref.get('pooler_output')!));
  tf.dispose([out as never, ...ref.values(), ...(Object.values(inputs) as tf.Tensor[])]);
  expect(diff).toBeLessThanOrEqual(1e-4);
  return diff;
}

describe('golden parity through loadAdapter', () => {
  it.each(['pfeiffer_inv', 'houlsby_inv'])('bert/%s: outputs within 1e-4, numParams = trainable_params', async (name) => {
    const m = await goldenModel('bert');
    try {
      const loaded = await m.loadAdapter(caseDir('bert', name));
      expect(loaded).toBe(name);
      m.setActiveAdapters(loaded);
      const meta = readJson(join(caseDir('bert', name), 'meta.json'));
      expect(m.adapterSummary()[0]!.numParams).toBe(meta['trainable_params']);
      expect(m.describeHooks().find((r) => r.point === 'embeddings.output')?.adapters).toEqual([name]);
      await expectGolden(m, caseDir('bert', name));
    } finally {
      m.dispose();
    }
  });

  it("bert/comp_stack: Stack('lang', 'task') applies only lang's invertible adapter; counts = trainable_params", async () => {
    const m = await goldenModel('bert');
    const dir = caseDir('bert', 'comp_stack');
    try {
      for (const n of ['lang', 'task']) expect(await m.loadAdapter(join(dir, 'adapters', n))).toBe(n);
      m.setActiveAdapters(Stack('lang', 'task'));
      const meta = readJson(join(dir, 'meta.json'));
      const rows = m.adapterSummary();
      expect(rows.reduce((n, r) => n + r.numParams, 0)).toBe(meta['trainable_params']);
      expect(Object.fromEntries(rows.map((r) => [r.name, r.numParams]))).toEqual({ lang: 884, task: 324 });
      await expectGolden(m, dir);
    } finally {
      m.dispose();
    }
  });

  it('GLOW on the golden BERT: parameter count = the reference case num_adapter_params (1172)', async () => {
    const m = await goldenModel('bert');
    try {
      m.addAdapter('pfeiffer_inv_glow', PfeifferInvConfig({ invAdapter: 'glow' }));
      const meta = readJson(join(caseDir('bert', 'pfeiffer_inv_glow'), 'meta.json'));
      expect(m.adapterSummary()[0]!.numParams).toBe(meta['num_adapter_params']);
    } finally {
      m.dispose();
    }
  });
});

describe('config names and constructors', () => {
  it.each([
    ['pfeiffer+inv', 'pfeiffer_inv'],
    ['seq_bn_inv', 'pfeiffer_inv'],
    ['houlsby+inv', 'houlsby_inv'],
    ['double_seq_bn_inv', 'houlsby_inv'],
  ])('%s resolves to the reference config of case %s', async (configName, name) => {
    const m = await goldenModel('bert');
    try {
      m.addAdapter('a', configName);
      const ours = m.requireAdapter('a').members[0]!.config;
      const byConstructor = name === 'pfeiffer_inv' ? PfeifferInvConfig() : HoulsbyInvConfig();
      expect(ours).toEqual(byConstructor);
      const ref = readJson(join(caseDir('bert', name), 'meta.json'))['config'] as Record<string, unknown>;
      expect(ours).toMatchObject({ invAdapter: ref['inv_adapter'], invAdapterReductionFactor: ref['inv_adapter_reduction_factor'], nonLinearity: ref['non_linearity'], mhAdapter: ref['mh_adapter'] });
    } finally {
      m.dispose();
    }
  });

  it('constructors take overrides and validate; the adapters names are aliases', () => {
    expect(PfeifferInvConfig({ invAdapter: 'glow', invAdapterReductionFactor: 4, reductionFactor: 8 })).toMatchObject({
      method: 'bottleneck',
      originalLnBefore: true,
      invAdapter: 'glow',
      invAdapterReductionFactor: 4,
      reductionFactor: 8,
    });
    expect(HoulsbyInvConfig()).toMatchObject({ mhAdapter: true, nonLinearity: 'swish', invAdapter: 'nice', invAdapterReductionFactor: 2 });
    expect(SeqBnInvConfig).toBe(PfeifferInvConfig);
    expect(DoubleSeqBnInvConfig).toBe(HoulsbyInvConfig);
    expect(() => PfeifferInvConfig({ invAdapterReductionFactor: -1 })).toThrow(AdapterConfigError);
  });

  it("config strings override the preset: pfeiffer+inv[inv_adapter='glow', inv_adapter_reduction_factor=4.0]", async () => {
    const m = await goldenModel('bert');
    try {
      m.addAdapter('g', "pfeiffer+inv[inv_adapter='glow', inv_adapter_reduction_factor=4.0]");
      expect(m.adapterParams('g').map((p) => p.key).filter((k) => k.startsWith('invertible_adapters'))).toEqual([
        'invertible_adapters.g.s1.0.weight',
        'invertible_adapters.g.s1.0.bias',
        'invertible_adapters.g.s1.2.weight',
        'invertible_adapters.g.s1.2.bias',
        'invertible_adapters.g.s2.0.weight',
        'invertible_adapters.g.s2.0.bias',
        'invertible_adapters.g.s2.2.weight',
        'invertible_adapters.g.s2.2.bias',
      ]);
    } finally {
      m.dispose();
    }
  });

  it('without this package, pfeiffer+inv and inv_adapter name @adapterkit/invertible', async () => {
    const m = new AdapterModel(await loadHost(`${GOLDEN_DIR}models/bert`), { methods: bottleneckPlugins, warn: () => undefined });
    try {
      expect(() => m.addAdapter('a', 'pfeiffer+inv')).toThrow(/@adapterkit\/invertible/);
      expect(() => m.addAdapter('a', "pfeiffer[inv_adapter='nice', inv_adapter_reduction_factor=2]")).toThrow(/@adapterkit\/invertible/);
      await expect(m.loadAdapter(caseDir('bert', 'pfeiffer_inv'))).rejects.toThrow(/@adapterkit\/invertible/);
      expect(m.adapterNames()).toEqual([]);
    } finally {
      m.dispose();
    }
  });
});

describe('save → load', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'invertible-save-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['pfeiffer_inv', 'pfeiffer+inv'],
    ['houlsby_inv', 'houlsby+inv'],
  ])('%s: adapter_config.json equals the reference file; reload gives identical outputs', async (name, configName) => {
    const m = await goldenModel('bert');
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    const target = join(dir, name);
    try {
      m.addAdapter(name, configName, { setActive: true });
      randomise(m.adapterParams(name), 9, 0.1);
      expect(await saveReloadDiff(m, name, target, inputs)).toEqual({ maxDiff: 0, loadedName: name });
      expect(readFileSync(join(target, 'adapter_config.json'), 'utf8')).toBe(readFileSync(join(caseDir('bert', name), 'adapter_config.json'), 'utf8'));
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });

  it('GLOW round-trips under the s1/s2 keys', async () => {
    const m = await goldenModel('bert');
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    const target = join(dir, 'glow');
    try {
      m.addAdapter('glow', PfeifferInvConfig({ invAdapter: 'glow' }), { setActive: true });
      randomise(m.adapterParams('glow'), 10, 0.1);
      expect(await saveReloadDiff(m, 'glow', target, inputs)).toEqual({ maxDiff: 0, loadedName: 'glow' });
      expect(JSON.parse(readFileSync(join(target, 'adapter_config.json'), 'utf8')).config.inv_adapter).toBe('glow');
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });
});

describe('memory', () => {
  it('no tensors leak across forwards, nor across add/delete of NICE and GLOW adapters', async () => {
    const m = await goldenModel('bert');
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    try {
      const base = tf.memory().numTensors;
      for (const kind of ['nice', 'glow'] as const) {
        m.addAdapter(kind, PfeifferInvConfig({ invAdapter: kind }), { setActive: true });
        tf.dispose(m.forward(inputs) as never);
        const after1 = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) tf.dispose(m.forward(inputs) as never);
        expect(tf.memory().numTensors).toBe(after1);
        m.deleteAdapter(kind);
        expect(tf.memory().numTensors).toBe(base);
      }
    } finally {
      tf.dispose(Object.values(inputs) as tf.Tensor[]);
      m.dispose();
    }
  });
});
