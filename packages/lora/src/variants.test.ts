import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, AdapterConfigError, Rng, init, serializeSafetensors, writeFilesAtomic, type ModelInputs } from '@adapterkit/core';
import { initHost, loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff, readTensors } from '@adapterkit/testkit';
import { describe, expect, it } from 'vitest';
import { exportPeftAdapter, importPeftAdapter, LoRAConfig, mergeAdapter, plugins, resetAdapter, serializePeftAdapter } from './index';

const GOLDEN_NEXT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden-next');
const tiny = { model_type: 'bert', vocab_size: 64, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32 };
const batch = (): ModelInputs => ({ inputIds: tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 0]], [2, 4], 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], [2, 4], 'int32') });
const disposeInputs = (i: ModelInputs): void => tf.dispose([i.inputIds, i.attentionMask!]);

/** Fill every adapter parameter with seeded noise (magnitudes around 1 so they stay positive). */
function randomise(model: AdapterModel, name: string, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.adapterParams(name)) {
    const noise = init.normal(rng, [...p.variable.shape], 0.1, p.key.endsWith('lora_magnitude_vector') ? 1 : 0);
    p.variable.assign(noise);
    noise.dispose();
  }
}

describe('DoRA (PEFT 0.14 use_dora)', () => {
  it('imports bert_v1/peft_dora (lora_magnitude_vector) and reproduces PEFT within 1e-5', async () => {
    const dir = join(GOLDEN_NEXT, 'cases/bert_v1/peft_dora');
    const model = new AdapterModel(await loadHost(join(GOLDEN_NEXT, 'models/bert_v1')), { methods: [...plugins], warn: () => undefined });
    const name = await importPeftAdapter(model, dir, { setActive: true });
    expect(model.adapterParams(name).reduce((n, p) => n + p.variable.size, 0)).toBe(1152);
    const inputs = goldenInputs(GOLDEN_NEXT, 'bert_v1');
    const ref = await readTensors(join(dir, 'output.safetensors'));
    const out = model.forward(inputs);
    expect(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.poolerOutput!, ref.get('pooler_output')!)).toBeLessThan(1e-5);
    tf.dispose([...ref.values(), out.lastHiddenState, out.poolerOutput!, inputs.inputIds, inputs.attentionMask!, inputs.tokenTypeIds!]);
    model.dispose();
  });

  it('starts as the identity (m = ‖W‖ per output row, B = 0)', () => {
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins] });
    const inputs = batch();
    const base = model.forward(inputs).lastHiddenState;
    model.addAdapter('d', 'lora[r=2,alpha=4,use_dora=True]', { setActive: true });
    const out = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(out, base)).toBeLessThan(1e-5);
    tf.dispose([base, out]);
    disposeInputs(inputs);
    model.dispose();
  });

  it("equals the base model with W' = m ⊙ V / ‖V‖_row, V = W + (α/r)·B·A, computed by hand (bias untouched)", () => {
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins] });
    model.addAdapter('d', 'lora[r=2,alpha=4,use_dora=True]', { setActive: true });
    randomise(model, 'd', 7);
    const inputs = batch();
    const dora = model.forward(inputs).lastHiddenState;
    // by hand, in the file layout W [out, in], A [r, in], B [out, r]
    const fileOf = (key: string): number[][] => {
      const p = model.adapterParams('d').find((q) => q.key === key)!;
      return (p.layout === 'linear' ? tf.transpose(p.variable) : p.variable).arraySync() as number[][];
    };
    const originals: Array<[tf.Variable, tf.Tensor]> = [];
    for (const path of ['encoder.layer.0.attention.self.query', 'encoder.layer.0.attention.self.value', 'encoder.layer.1.attention.self.query', 'encoder.layer.1.attention.self.value']) {
      const Wv = model.host.parameters.get(`${path}.weight`)!;
      const W = (tf.transpose(Wv).arraySync() as number[][]); // [out, in]
      const A = fileOf(`${path}.loras.d.lora_A`);
      const B = fileOf(`${path}.loras.d.lora_B`);
      const m = model.adapterParams('d').find((q) => q.key === `${path}.loras.d.lora_magnitude_vector`)!.variable.arraySync() as number[];
      const merged = W.map((row, o) => {
        const v = row.map((w, i) => w + 2 * B[o]!.reduce((acc, b, k) => acc + b * A[k]![i]!, 0));
        const norm = Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
        return v.map((x) => (m[o]! * x) / norm);
      });
      originals.push([Wv, tf.clone(Wv)]);
      const t = tf.transpose(tf.tensor2d(merged));
      Wv.assign(t);
      t.dispose();
    }
    model.setActiveAdapters(null);
    const byHand = model.forward(inputs).lastHiddenState;
    for (const [v, t] of originals) {
      v.assign(t);
      t.dispose();
    }
    expect(maxAbsDiff(dora, byHand)).toBeLessThan(1e-5);
    // mergeAdapter folds the same weight in; resetAdapter restores the base
    model.setActiveAdapters('d');
    mergeAdapter(model, 'd');
    const merged = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(merged, dora)).toBeLessThan(1e-5);
    resetAdapter(model, 'd');
    tf.dispose([dora, byHand, merged]);
    disposeInputs(inputs);
    model.dispose();
  });

  it('round-trips through PEFT files (use_dora: true, lora_magnitude_vector [out])', async () => {
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins], warn: () => undefined });
    model.addAdapter('d', 'lora[r=2,alpha=4,use_dora=True]', { setActive: true });
    randomise(model, 'd', 9);
    const dir = mkdtempSync(join(tmpdir(), 'dora-'));
    try {
      await exportPeftAdapter(model, 'd', dir);
      const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      expect(cfg['use_dora']).toBe(true);
      const inputs = batch();
      const before = model.forward(inputs).lastHiddenState;
      await importPeftAdapter(model, dir, { name: 'back', setActive: true });
      const after = model.forward(inputs).lastHiddenState;
      expect(maxAbsDiff(after, before)).toBeLessThan(1e-6);
      tf.dispose([before, after]);
      disposeInputs(inputs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('rejects DoRA in scale mode or with gating', () => {
    expect(() => LoRAConfig({ useDora: true, useGating: true })).toThrow(AdapterConfigError);
    expect(() => LoRAConfig({ useDora: true, compositionMode: 'scale', r: 1 })).toThrow(/use_dora/);
  });
});

describe('rsLoRA (use_rslora)', () => {
  it('scales by alpha/√r: r=4, alpha=8 acts like plain LoRA with scaling 4 (alpha 16)', () => {
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins] });
    model.addAdapter('rs', 'lora[r=4,alpha=8,use_rslora=True]');
    model.addAdapter('plain', 'lora[r=4,alpha=16]');
    randomise(model, 'rs', 3);
    const src = model.adapterParams('rs');
    for (const p of model.adapterParams('plain')) p.variable.assign(src.find((q) => q.key.replace('.rs.', '.plain.') === p.key)!.variable);
    const inputs = batch();
    model.setActiveAdapters('rs');
    const a = model.forward(inputs).lastHiddenState;
    model.setActiveAdapters('plain');
    const b = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    tf.dispose([a, b]);
    disposeInputs(inputs);
    model.dispose();
  });

  it('is written to adapter_config.json only when set', () => {
    expect(LoRAConfig({ useRslora: true }).useRslora).toBe(true);
    expect(LoRAConfig().useRslora).toBe(false);
  });
});

describe('VeRA (PEFT 0.14 files)', () => {
  const vec = (rng: Rng, n: number): { shape: number[]; data: Float32Array } => ({ shape: [n], data: new Float32Array(n).map(() => 0.1 * rng.normal()) });
  const matrix = (rng: Rng, rows: number, cols: number): { shape: number[]; data: Float32Array } => ({ shape: [rows, cols], data: new Float32Array(rows * cols).map(() => rng.normal()) });
  const write = async (config: Record<string, unknown>, tensors: Record<string, { shape: number[]; data: Float32Array }>): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), 'vera-'));
    await writeFilesAtomic(dir, { 'adapter_config.json': JSON.stringify(config), 'adapter_model.safetensors': serializeSafetensors(tensors) });
    return dir;
  };
  const veraConfig = { peft_type: 'VERA', r: 4, target_modules: ['query', 'intermediate.dense'], projection_prng_key: 0, save_projection: true, vera_dropout: 0.0, d_initial: 0.1 };

  it('imports as a vera adapter computing ΔW = (λ_b ⊙ B[:out]) · (λ_d ⊙ A[:, :in]), no scaling', async () => {
    const rng = new Rng(5);
    // tiny BERT: query [16 → 16], intermediate.dense [16 → 32]; shared A [4, 16], B [32, 4]
    const A = matrix(rng, 4, 16);
    const B = matrix(rng, 32, 4);
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = { 'base_model.vera_A': A, 'base_model.vera_B': B };
    const lambdas = new Map<string, { b: { shape: number[]; data: Float32Array }; d: { shape: number[]; data: Float32Array }; out: number }>();
    for (const layer of [0, 1]) {
      for (const [path, out] of [[`encoder.layer.${layer}.attention.self.query`, 16], [`encoder.layer.${layer}.intermediate.dense`, 32]] as const) {
        const l = { b: vec(rng, out), d: vec(rng, 4), out };
        lambdas.set(path, l);
        tensors[`base_model.model.${path}.vera_lambda_b`] = l.b;
        tensors[`base_model.model.${path}.vera_lambda_d`] = l.d;
      }
    }
    const dir = await write(veraConfig, tensors);
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins], warn: () => undefined });
    try {
      const inputs = batch();
      await importPeftAdapter(model, dir, { name: 'v', setActive: true });
      expect(model.requireAdapter('v').members[0]!.config).toMatchObject({ method: 'vera', r: 4, targetSites: ['query', 'intermediate'], projectionPrngKey: 0, dInitial: 0.1 });
      // trainable: only the λ vectors (2 layers × (λ_b + λ_d) × 2 sites); the shared projections are frozen
      const trainable = model.adapterParams('v').filter((p) => !p.frozen);
      expect(trainable.reduce((n, p) => n + p.variable.size, 0)).toBe(2 * (16 + 4 + 32 + 4));
      expect(model.adapterParams('v').filter((p) => p.frozen).map((p) => p.key)).toEqual(['vera_A.v', 'vera_B.v']);
      const ours = model.forward(inputs).lastHiddenState;
      // by hand: fold ΔW into the base weights (memory [in, out]: W[i][o] += ΔW[o][i])
      model.setActiveAdapters(null);
      const originals: Array<[tf.Variable, tf.Tensor]> = [];
      for (const [path, l] of lambdas) {
        const v = model.host.parameters.get(`${path}.weight`)!;
        const W = v.arraySync() as number[][];
        for (let i = 0; i < 16; i++) {
          for (let o = 0; o < l.out; o++) {
            let d = 0;
            for (let k = 0; k < 4; k++) d += l.b.data[o]! * B.data[o * 4 + k]! * l.d.data[k]! * A.data[k * 16 + i]!;
            W[i]![o]! += d;
          }
        }
        originals.push([v, tf.clone(v)]);
        const t = tf.tensor2d(W);
        v.assign(t);
        t.dispose();
      }
      const byHand = model.forward(inputs).lastHiddenState;
      for (const [v, t] of originals) {
        v.assign(t);
        t.dispose();
      }
      expect(maxAbsDiff(ours, byHand)).toBeLessThan(1e-5);
      tf.dispose([ours, byHand]);
      disposeInputs(inputs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('refuses a file without the shared projections (save_projection=False: torch-PRNG regenerated)', async () => {
    const rng = new Rng(1);
    const dir = await write({ ...veraConfig, save_projection: false }, {
      'base_model.model.encoder.layer.0.attention.self.query.vera_lambda_b': vec(rng, 16),
      'base_model.model.encoder.layer.0.attention.self.query.vera_lambda_d': vec(rng, 4),
    });
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins], warn: () => undefined });
    try {
      await expect(importPeftAdapter(model, dir)).rejects.toThrow(/save_projection=false.*torch's PRNG/);
      expect(model.adapterNames()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});

describe('PEFT (IA)³ with feed-forward modules (peft_ia3)', () => {
  it("imports PEFT's BERT default (key, value out-scaled; attention.output.dense and output.dense in-scaled) exactly", async () => {
    const rng = new Rng(8);
    const vec = (rows: number, cols: number): { shape: number[]; data: Float32Array } => ({ shape: [rows, cols], data: new Float32Array(rows * cols).map(() => 1 + 0.1 * rng.normal()) });
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    const plan: Array<{ path: string; ff: boolean; l: Float32Array }> = [];
    for (const layer of [0, 1]) {
      const p = `encoder.layer.${layer}`;
      for (const [path, rows, cols, ff] of [
        [`${p}.attention.self.key`, 16, 1, false],
        [`${p}.attention.self.value`, 16, 1, false],
        [`${p}.attention.output.dense`, 1, 16, true],
        [`${p}.output.dense`, 1, 32, true],
      ] as const) {
        const t = vec(rows, cols);
        tensors[`base_model.model.${path}.ia3_l`] = t;
        plan.push({ path, ff, l: t.data });
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'ia3-'));
    await writeFilesAtomic(dir, {
      'adapter_config.json': JSON.stringify({ peft_type: 'IA3', target_modules: ['key', 'value', 'output.dense'], feedforward_modules: ['output.dense'], fan_in_fan_out: false }),
      'adapter_model.safetensors': serializeSafetensors(tensors),
    });
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins], warn: () => undefined });
    try {
      const inputs = batch();
      const name = await importPeftAdapter(model, dir, { setActive: true });
      const cfg = model.requireAdapter(name).members[0]!.config as unknown as { method: string; targetSites: string[]; feedforwardSites: string[] };
      expect(cfg).toEqual({ method: 'peft_ia3', targetSites: ['key', 'value', 'attention_output', 'output'], feedforwardSites: ['attention_output', 'output'] });
      const ours = model.forward(inputs).lastHiddenState;
      // by hand, memory layout W [in, out]: output scaling multiplies columns (and the bias), input scaling rows
      model.setActiveAdapters(null);
      const originals: Array<[tf.Variable, tf.Tensor]> = [];
      for (const { path, ff, l } of plan) {
        const w = model.host.parameters.get(`${path}.weight`)!;
        const b = model.host.parameters.get(`${path}.bias`)!;
        originals.push([w, tf.clone(w)], [b, tf.clone(b)]);
        const W = w.arraySync() as number[][];
        const scaled = W.map((row, i) => row.map((x, o) => x * (ff ? l[i]! : l[o]!)));
        const tw = tf.tensor2d(scaled);
        w.assign(tw);
        tw.dispose();
        if (!ff) {
          const tb = tf.mul(b, tf.tensor1d(l));
          b.assign(tb as tf.Tensor1D);
          tb.dispose();
        }
      }
      const byHand = model.forward(inputs).lastHiddenState;
      for (const [v, t] of originals) {
        v.assign(t);
        t.dispose();
      }
      expect(maxAbsDiff(ours, byHand)).toBeLessThan(1e-5);
      tf.dispose([ours, byHand]);
      disposeInputs(inputs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('validates sites against the host', () => {
    const model = new AdapterModel(initHost(tiny), { methods: [...plugins] });
    expect(() => model.addAdapter('a', { method: 'peft_ia3', targetSites: ['qkv'], feedforwardSites: [] })).toThrow(/does not have/);
    expect(() => model.addAdapter('b', { method: 'peft_ia3', targetSites: ['key'], feedforwardSites: ['output'] })).toThrow(/not in target_sites/);
    model.dispose();
  });
});

describe('PEFT export of vera and peft_ia3 (round trips)', () => {
  for (const [label, config] of [
    ['vera', { method: 'vera', r: 4, targetSites: ['query', 'value', 'output'] }],
    ['peft_ia3', { method: 'peft_ia3', targetSites: ['key', 'value', 'attention_output', 'output'], feedforwardSites: ['attention_output', 'output'] }],
  ] as const) {
    it(`${label}: export → import gives the same outputs`, async () => {
      const model = new AdapterModel(initHost(tiny), { methods: [...plugins], warn: () => undefined });
      model.addAdapter('a', config as never, { setActive: true });
      randomise(model, 'a', 11);
      const dir = mkdtempSync(join(tmpdir(), `${label}-`));
      try {
        await exportPeftAdapter(model, 'a', dir);
        const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
        if (label === 'peft_ia3') {
          // exactly PEFT's own BERT default: `output.dense` suffix-matches attention.output.dense too
          expect(cfg).toMatchObject({ peft_type: 'IA3', target_modules: ['key', 'value', 'output.dense'], feedforward_modules: ['output.dense'] });
        } else {
          expect(cfg).toMatchObject({ peft_type: 'VERA', r: 4, save_projection: true, projection_prng_key: 0 });
        }
        const inputs = batch();
        const before = model.forward(inputs).lastHiddenState;
        await importPeftAdapter(model, dir, { name: 'back', setActive: true });
        expect(model.requireAdapter('back').members[0]!.config).toEqual(model.requireAdapter('a').members[0]!.config);
        const after = model.forward(inputs).lastHiddenState;
        expect(maxAbsDiff(after, before)).toBeLessThan(1e-6);
        tf.dispose([before, after]);
        disposeInputs(inputs);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        model.dispose();
      }
    });
  }
});

it("peft_ia3 export: feedforward_modules becomes a regex where PEFT's plain endswith would also flag a non-feed-forward target", async () => {
  const model = new AdapterModel(initHost(tiny), { methods: [...plugins] });
  model.addAdapter('a', { method: 'peft_ia3', targetSites: ['attention_output', 'output'], feedforwardSites: ['output'] });
  const files = await serializePeftAdapter(model, 'a');
  const cfg = JSON.parse(files['adapter_config.json'] as string) as Record<string, unknown>;
  expect(cfg['feedforward_modules']).toBe('(.*\\.)?(encoder\\.layer\\.\\d+\\.output\\.dense)');
  expect(new RegExp(`^${cfg['feedforward_modules'] as string}$`).test('encoder.layer.1.output.dense')).toBe(true);
  expect(new RegExp(`^${cfg['feedforward_modules'] as string}$`).test('encoder.layer.1.attention.output.dense')).toBe(false);
  model.dispose();
});
