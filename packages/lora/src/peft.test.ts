import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CapabilityError,
  parseSafetensors,
  Rng,
  serializeSafetensors,
  toPythonJson,
  writeFilesAtomic,
  type AdapterModel,
} from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPeftAdapter, importPeftAdapter, serializePeftAdapter } from './index';
import { buildModel, caseDir, disposeAll, inputsFor, outputsDiff, run, type GoldenModel } from './test-helpers';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lora-peft-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const paramValues = (model: AdapterModel, name: string): Array<[string, number[], number[]]> =>
  model.adapterParams(name).map((p) => [p.key.replace(`.loras.${name}.`, '.loras.*.'), [...p.variable.shape], Array.from(p.variable.dataSync())]);

/** Export `name` to PEFT, import it as `peft`, and check config, parameters and outputs are identical. */
async function roundTrip(model: AdapterModel, name: string, modelName: GoldenModel): Promise<{ config: Record<string, unknown>; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
  const dir = await tempDir();
  await exportPeftAdapter(model, name, dir);
  const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  const { tensors } = parseSafetensors(new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors'))));
  await importPeftAdapter(model, dir, { name: 'peft' });
  // PEFT files do not record the initialisation scheme; everything else survives
  const cfg = (n: string): Record<string, unknown> => ({ ...model.requireAdapter(n).members[0]!.config, initWeights: undefined });
  expect(cfg('peft')).toEqual(cfg(name));
  expect(paramValues(model, 'peft')).toEqual(paramValues(model, name));
  const inputs = inputsFor(modelName);
  model.setActiveAdapters(name);
  const ours = run(model, inputs);
  model.setActiveAdapters('peft');
  const imported = run(model, inputs);
  expect(outputsDiff(ours, imported)).toBe(0);
  [ours, imported, inputs].forEach(disposeAll);
  return { config, tensors: tensors as Map<string, { shape: number[]; data: Float32Array }> };
}

describe('PEFT round trips (export → import → identical outputs)', () => {
  it('bert LoRA (golden): PEFT keys, shapes and config', async () => {
    const model = await buildModel('bert');
    await model.loadAdapter(caseDir('bert', 'lora'));
    const { config, tensors } = await roundTrip(model, 'lora', 'bert');
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['query', 'value'], bias: 'none', fan_in_fan_out: false, rank_pattern: {}, inference_mode: true });
    expect(tensors.get('base_model.model.encoder.layer.0.attention.self.query.lora_A.weight')!.shape).toEqual([4, 32]);
    expect(tensors.get('base_model.model.encoder.layer.1.attention.self.value.lora_B.weight')!.shape).toEqual([32, 4]);
    expect(tensors.size).toBe(8);
    const text = (await serializePeftAdapter(model, 'lora'))['adapter_config.json'] as string;
    expect(text).toContain('"lora_dropout": 0.0');
    expect(text).toBe(toPythonJson(JSON.parse(text), { indent: 2, sortKeys: true, floatKeys: (p) => p[0] === 'lora_dropout' }));
    model.dispose();
  });

  it('bert (IA)³ (golden): ia3_l [out, 1] on key, value, intermediate.dense, no feed-forward modules', async () => {
    const model = await buildModel('bert');
    await model.loadAdapter(caseDir('bert', 'ia3'));
    const { config, tensors } = await roundTrip(model, 'ia3', 'bert');
    expect(config).toMatchObject({ peft_type: 'IA3', target_modules: ['key', 'value', 'intermediate.dense'], feedforward_modules: [] });
    expect(tensors.get('base_model.model.encoder.layer.0.intermediate.dense.ia3_l')!.shape).toEqual([64, 1]);
    model.dispose();
  });

  it('gpt2 LoRA (golden): fused c_attn as one rank-r·n LoRA with block-diagonal B', async () => {
    const model = await buildModel('gpt2');
    await model.loadAdapter(caseDir('gpt2', 'lora'));
    const { config, tensors } = await roundTrip(model, 'lora', 'gpt2');
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['c_attn'], fan_in_fan_out: true });
    const A = tensors.get('base_model.model.h.0.attn.c_attn.lora_A.weight')!;
    const B = tensors.get('base_model.model.h.0.attn.c_attn.lora_B.weight')!;
    expect(A.shape).toEqual([8, 32]);
    expect(B.shape).toEqual([96, 8]);
    // q rows use A rows 0..3 only, k rows are zero, v rows use A rows 4..7 only
    const row = (i: number): number[] => Array.from(B.data.subarray(i * 8, i * 8 + 8));
    expect(row(0).slice(4).every((v) => v === 0) && row(0).slice(0, 4).some((v) => v !== 0)).toBe(true);
    expect(row(40).every((v) => v === 0)).toBe(true);
    expect(row(70).slice(0, 4).every((v) => v === 0) && row(70).slice(4).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });

  it('gpt2 (IA)³ (golden): c_attn vector [96, 1] with ones on q', async () => {
    const model = await buildModel('gpt2');
    await model.loadAdapter(caseDir('gpt2', 'ia3'));
    const { config, tensors } = await roundTrip(model, 'ia3', 'gpt2');
    expect(config).toMatchObject({ peft_type: 'IA3', target_modules: ['c_attn', 'c_fc'], fan_in_fan_out: true });
    const l = tensors.get('base_model.model.h.0.attn.c_attn.ia3_l')!;
    expect(l.shape).toEqual([96, 1]);
    expect(Array.from(l.data.subarray(0, 32)).every((v) => v === 1)).toBe(true);
    model.dispose();
  });

  it('gpt2 LoRA on c_attn (q, k, v), c_fc and mlp.c_proj: rank_pattern / alpha_pattern for c_attn', async () => {
    const model = await buildModel('gpt2');
    model.addAdapter('x', 'lora[r=2, alpha=6, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True, init_weights="bert"]');
    const { config } = await roundTrip(model, 'x', 'gpt2');
    expect(config).toMatchObject({ r: 2, lora_alpha: 6, rank_pattern: { c_attn: 6 }, alpha_pattern: { c_attn: 18 }, target_modules: ['c_attn', 'c_fc', 'mlp.c_proj'] });
    model.dispose();
  });

  it('roberta LoRA on every site: output.dense is named by a regex (a suffix would also hit attention.output.dense)', async () => {
    const model = await buildModel('roberta');
    model.addAdapter('r', 'lora[r=4, alpha=8, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True, init_weights="bert", dropout=0.1]');
    const { config } = await roundTrip(model, 'r', 'roberta');
    const pattern = config['target_modules'] as string;
    expect(typeof pattern).toBe('string');
    const re = new RegExp(`^(?:${pattern})$`);
    expect(re.test('encoder.layer.1.output.dense')).toBe(true);
    expect(re.test('roberta.encoder.layer.0.attention.self.key')).toBe(true);
    expect(re.test('encoder.layer.0.attention.output.dense')).toBe(false);
    expect(config['lora_dropout']).toBe(0.1);
    model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Hand-written PEFT directories

function randomMatrix(rng: Rng, rows: number, cols: number): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(rows * cols).map(() => 0.1 * rng.normal());
  return { shape: [rows, cols], data };
}

async function writePeft(config: Record<string, unknown>, tensors: Record<string, { shape: number[]; data: Float32Array }>): Promise<string> {
  const dir = await tempDir();
  await writeFilesAtomic(dir, { 'adapter_config.json': JSON.stringify(config), 'adapter_model.safetensors': serializeSafetensors(tensors) });
  return dir;
}

/** Fold `scale · Bᵀ·Aᵀ`-style PEFT updates into a model's base weights (memory `[in, out]`: W += s·Aᵀ·Bᵀ). */
function foldIntoBase(model: AdapterModel, updates: Array<{ path: string; A: { shape: number[]; data: Float32Array }; B: { shape: number[]; data: Float32Array }; scale: number }>): void {
  for (const u of updates) {
    const w = model.host.parameters.get(`${u.path}.weight`)!;
    const next = tf.tidy(() => {
      const A = tf.tensor2d(u.A.data, u.A.shape as [number, number]);
      const B = tf.tensor2d(u.B.data, u.B.shape as [number, number]);
      return tf.add(w, tf.mul(tf.matMul(tf.transpose(A), tf.transpose(B)), u.scale));
    });
    w.assign(next);
    next.dispose();
  }
}

describe('importing PEFT adapters written elsewhere', () => {
  it('gpt2: a dense (non-block) c_attn B, per-module rank/alpha patterns and a missing layer are all exact', async () => {
    const rng = new Rng(7);
    const t = {
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': randomMatrix(rng, 3, 32),
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight': randomMatrix(rng, 96, 3),
      'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight': randomMatrix(rng, 3, 32),
      'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': randomMatrix(rng, 96, 3),
      'base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight': randomMatrix(rng, 2, 32),
      'base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight': randomMatrix(rng, 128, 2),
    };
    const dir = await writePeft({ peft_type: 'LORA', r: 3, lora_alpha: 6, rank_pattern: { c_fc: 2 }, alpha_pattern: { c_fc: 4 }, target_modules: ['c_attn', 'c_fc'], fan_in_fan_out: true }, t);
    const warnings: string[] = [];
    const model = await buildModel('gpt2', warnings);
    await importPeftAdapter(model, dir, { name: 'p', setActive: true });
    expect(model.requireAdapter('p').members[0]!.config).toMatchObject({ r: 3, alpha: 6, attnMatrices: ['q', 'k', 'v'], intermediateLora: true, outputLora: false });
    expect(warnings.join('\n')).toMatch(/no PEFT weights for h\.1\.mlp\.c_fc/);

    const expected = await buildModel('gpt2');
    const g = (k: string): { shape: number[]; data: Float32Array } => t[`base_model.model.transformer.${k}` as keyof typeof t];
    foldIntoBase(expected, [
      { path: 'h.0.attn.c_attn', A: g('h.0.attn.c_attn.lora_A.weight'), B: g('h.0.attn.c_attn.lora_B.weight'), scale: 2 },
      { path: 'h.1.attn.c_attn', A: g('h.1.attn.c_attn.lora_A.weight'), B: g('h.1.attn.c_attn.lora_B.weight'), scale: 2 },
      { path: 'h.0.mlp.c_fc', A: g('h.0.mlp.c_fc.lora_A.weight'), B: g('h.0.mlp.c_fc.lora_B.weight'), scale: 2 },
    ]);
    const inputs = inputsFor('gpt2');
    const ours = run(model, inputs);
    const ref = run(expected, inputs);
    expect(outputsDiff(ours, ref)).toBeLessThanOrEqual(1e-5);
    [ours, ref, inputs].forEach(disposeAll);
    model.dispose();
    expected.dispose();
  });

  it('bert: rsLoRA scaling (α/√r), a base-model prefix and ignored modules_to_save weights', async () => {
    const rng = new Rng(11);
    const t: Record<string, { shape: number[]; data: Float32Array }> = { 'base_model.model.classifier.weight': randomMatrix(rng, 2, 32) };
    for (const i of [0, 1]) {
      t[`base_model.model.bert.encoder.layer.${i}.attention.self.query.lora_A.weight`] = randomMatrix(rng, 4, 32);
      t[`base_model.model.bert.encoder.layer.${i}.attention.self.query.lora_B.weight`] = randomMatrix(rng, 32, 4);
    }
    const dir = await writePeft({ peft_type: 'LORA', r: 4, lora_alpha: 8, use_rslora: true, target_modules: ['query'], modules_to_save: ['classifier'] }, t);
    const warnings: string[] = [];
    const model = await buildModel('bert', warnings);
    await importPeftAdapter(model, dir, { name: 'p', setActive: true });
    expect(model.requireAdapter('p').members[0]!.config).toMatchObject({ r: 4, alpha: 16, attnMatrices: ['q'] });
    expect(warnings.join('\n')).toMatch(/ignoring 'base_model\.model\.classifier\.weight'/);
    const expected = await buildModel('bert');
    foldIntoBase(
      expected,
      [0, 1].map((i) => ({
        path: `encoder.layer.${i}.attention.self.query`,
        A: t[`base_model.model.bert.encoder.layer.${i}.attention.self.query.lora_A.weight`]!,
        B: t[`base_model.model.bert.encoder.layer.${i}.attention.self.query.lora_B.weight`]!,
        scale: 8 / Math.sqrt(4),
      })),
    );
    const inputs = inputsFor('bert');
    const ours = run(model, inputs);
    const ref = run(expected, inputs);
    expect(outputsDiff(ours, ref)).toBeLessThanOrEqual(1e-5);
    [ours, ref, inputs].forEach(disposeAll);
    model.dispose();
    expected.dispose();
  });

  it('rejects what AdapterHub LoRA cannot express, registering nothing', async () => {
    const rng = new Rng(3);
    const model = await buildModel('bert');
    const ff = await writePeft({ peft_type: 'IA3', target_modules: ['output.dense'], feedforward_modules: ['output.dense'] }, {
      'base_model.model.encoder.layer.0.output.dense.ia3_l': { shape: [1, 64], data: new Float32Array(64).fill(1) },
    });
    // feed-forward (IA)³ is read as peft_ia3, which needs a vector for every layer of a targeted site
    await expect(importPeftAdapter(model, ff)).rejects.toThrow(/encoder\.layer\.1\.output\.dense\.ia3_l/);
    const embeddings = await writePeft({ peft_type: 'LORA', r: 2, target_modules: ['word_embeddings'] }, {
      'base_model.model.embeddings.word_embeddings.lora_A.weight': randomMatrix(rng, 2, 512),
      'base_model.model.embeddings.word_embeddings.lora_B.weight': randomMatrix(rng, 32, 2),
    });
    await expect(importPeftAdapter(model, embeddings)).rejects.toThrow(CapabilityError);
    const dora = await writePeft({ peft_type: 'LORA', r: 2, use_dora: true }, {
      'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight': randomMatrix(rng, 2, 32),
      'base_model.model.encoder.layer.0.attention.self.query.lora_B.weight': randomMatrix(rng, 32, 2),
    });
    await expect(importPeftAdapter(model, dora)).rejects.toThrow(/DoRA needs lora_magnitude_vector \[32\]/);
    const prefix = await writePeft({ peft_type: 'PREFIX_TUNING' }, {});
    await expect(importPeftAdapter(model, prefix)).rejects.toThrow(/not a LoRA, VeRA or \(IA\)³ adapter/);
    expect(model.adapterNames()).toEqual([]);
    model.addAdapter('g', 'lora[use_gating=True]');
    await expect(exportPeftAdapter(model, 'g', await tempDir())).rejects.toThrow(/gating/);
    model.dispose();
  });
});
