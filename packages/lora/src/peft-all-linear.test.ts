import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, readSafetensors, serializeSafetensors, type ModelInputs, type ModelOutputs } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPeftAdapter, importPeftAdapter, mergeAdapter, plugins, resetAdapter } from './index';

const FIXTURES = resolve(fileURLToPath(new URL('../../../fixtures', import.meta.url)));
let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'peft-all-linear-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A PEFT `target_modules="all-linear"` case: every linear layer but the LM head, as PEFT 0.14 lists it. */
interface Case {
  readonly model: string;
  readonly inputsFrom: string;
  readonly inputsKey: string;
  /** PEFT key prefix after `base_model.model.` (the *ForCausalLM's `model.`). */
  readonly prefix: string;
  readonly targets: readonly string[];
  readonly modules: (layers: number) => string[];
}

const CASES: Record<'llama' | 'bert', Case> = {
  llama: {
    model: join(FIXTURES, 'golden-next', 'models', 'llama'),
    inputsFrom: join(FIXTURES, 'golden-next', 'inputs.json'),
    inputsKey: 'llama',
    prefix: 'model.',
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    modules: (L) =>
      Array.from({ length: L }, (_, i) => [
        ...['q', 'k', 'v', 'o'].map((m) => `layers.${i}.self_attn.${m}_proj`),
        ...['gate', 'up', 'down'].map((m) => `layers.${i}.mlp.${m}_proj`),
      ]).flat(),
  },
  bert: {
    model: join(FIXTURES, 'golden', 'models', 'bert'),
    inputsFrom: join(FIXTURES, 'golden', 'inputs.json'),
    inputsKey: 'bert',
    prefix: '',
    // PEFT's suffix match: `dense` hits attention.output.dense, intermediate.dense, output.dense and pooler.dense
    targets: ['query', 'key', 'value', 'dense'],
    modules: (L) => [
      ...Array.from({ length: L }, (_, i) => [
        ...['query', 'key', 'value'].map((m) => `encoder.layer.${i}.attention.self.${m}`),
        `encoder.layer.${i}.attention.output.dense`,
        `encoder.layer.${i}.intermediate.dense`,
        `encoder.layer.${i}.output.dense`,
      ]).flat(),
      'pooler.dense',
    ],
  },
};

function inputsOf(c: Case): ModelInputs {
  const all = JSON.parse(readFileSync(c.inputsFrom, 'utf8')) as Record<string, Record<string, number[][]>>;
  const x = all[c.inputsKey]!;
  return {
    inputIds: tf.tensor2d(x['input_ids']!, undefined, 'int32'),
    attentionMask: tf.tensor2d(x['attention_mask']!, undefined, 'int32'),
    ...(x['token_type_ids'] ? { tokenTypeIds: tf.tensor2d(x['token_type_ids'], undefined, 'int32') } : {}),
  };
}

/** Deterministic N(0, 0.1²)-like values (sum of uniforms), seeded per tensor. */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => 0.1 * (u() + u() + u() + u() - 2) * Math.sqrt(3));
}

const R = 4;
const ALPHA = 8;
const S = ALPHA / Math.sqrt(R); // rsLoRA: α/√r = 4

/** Writes a PEFT rsLoRA folder over every linear layer; returns the file-layout A [r, in] / B [out, r] per module. */
function writeAllLinear(c: Case, m: AdapterModel, dir: string): Map<string, { A: number[][]; B: number[][] }> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, { shape: number[]; data: Float32Array }> = {};
  const weights = new Map<string, { A: number[][]; B: number[][] }>();
  c.modules(m.info.numLayers).forEach((path, j) => {
    const [inDim, outDim] = m.host.parameters.get(`${path}.weight`)!.shape as [number, number];
    const a = noise(R * inDim, 11 + 2 * j);
    const b = noise(outDim * R, 12 + 2 * j);
    files[`base_model.model.${c.prefix}${path}.lora_A.weight`] = { shape: [R, inDim], data: a };
    files[`base_model.model.${c.prefix}${path}.lora_B.weight`] = { shape: [outDim, R], data: b };
    const rows = (d: Float32Array, r: number, k: number): number[][] => Array.from({ length: r }, (_, i) => Array.from(d.subarray(i * k, (i + 1) * k)));
    weights.set(path, { A: rows(a, R, inDim), B: rows(b, outDim, R) });
  });
  writeFileSync(
    join(dir, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', r: R, lora_alpha: ALPHA, use_rslora: true, lora_dropout: 0, bias: 'none', target_modules: c.targets, fan_in_fan_out: false }),
  );
  writeFileSync(join(dir, 'adapter_model.safetensors'), serializeSafetensors(files));
  return weights;
}

const outputsOf = (o: ModelOutputs): tf.Tensor[] => [o.lastHiddenState, ...(o.poolerOutput ? [o.poolerOutput] : []), ...(o.logits ? [o.logits] : [])];

describe.each(['llama', 'bert'] as const)('PEFT LoRA on every linear layer (all-linear, rsLoRA): %s', (name) => {
  const c = CASES[name];

  it('imports o_proj / attention.output.dense, gate_proj and pooler.dense, and equals the base model with W + (α/√r)·B·A merged by hand', async () => {
    const m = new AdapterModel(await loadHost(c.model), { methods: [...plugins], warn: () => undefined });
    const lm = name === 'llama';
    const x = inputsOf(c);
    const dir = join(tmp, `${name}-in`);
    const weights = writeAllLinear(c, m, dir);
    await importPeftAdapter(m, dir, { setActive: true });
    const config = m.requireAdapter('default').members[0]!.config as unknown as { extraModules: readonly string[] };
    expect([...config.extraModules]).toEqual(lm ? ['attention_output', 'gate'] : ['attention_output', 'pooler']);
    const ours = outputsOf(m.forward(x, { lmLogits: lm }));
    m.setActiveAdapters(null);
    const base = outputsOf(m.forward(x, { lmLogits: lm }));
    // the adapter acts on every output
    for (let i = 0; i < ours.length; i++) expect(maxAbsDiff(ours[i]!, base[i]!)).toBeGreaterThan(0.05);

    // by hand: memory layout W [in, out] += s·(B·A)ᵀ
    const originals: Array<[tf.Variable, tf.Tensor]> = [];
    for (const [path, { A, B }] of weights) {
      const v = m.host.parameters.get(`${path}.weight`)!;
      const W = v.arraySync() as number[][];
      for (let i = 0; i < W.length; i++) {
        for (let o = 0; o < W[0]!.length; o++) W[i]![o]! += S * B[o]!.reduce((acc, b, k) => acc + b * A[k]![i]!, 0);
      }
      originals.push([v, tf.clone(v)]);
      const t = tf.tensor2d(W);
      v.assign(t);
      t.dispose();
    }
    const byHand = outputsOf(m.forward(x, { lmLogits: lm }));
    for (const [v, t] of originals) {
      v.assign(t);
      t.dispose();
    }
    for (let i = 0; i < ours.length; i++) expect(maxAbsDiff(ours[i]!, byHand[i]!)).toBeLessThan(1e-5);

    // mergeAdapter folds the same update into every wrapped layer (the pooler included)
    m.setActiveAdapters('default');
    mergeAdapter(m, 'default');
    const merged = outputsOf(m.forward(x, { lmLogits: lm }));
    for (let i = 0; i < ours.length; i++) expect(maxAbsDiff(ours[i]!, merged[i]!)).toBeLessThan(1e-5);
    resetAdapter(m, 'default');

    // export → PEFT files with the same keys and targets → import gives the same outputs
    const out = join(tmp, `${name}-out`);
    await exportPeftAdapter(m, 'default', out);
    const keys = [...(await readSafetensors(join(out, 'adapter_model.safetensors'))).tensors.keys()].sort();
    expect(keys).toEqual([...(await readSafetensors(join(dir, 'adapter_model.safetensors'))).tensors.keys()].sort());
    expect(keys).toHaveLength(2 * weights.size);
    const again = new AdapterModel(await loadHost(c.model), { methods: [...plugins], warn: () => undefined });
    await importPeftAdapter(again, out, { setActive: true });
    const back = outputsOf(again.forward(x, { lmLogits: lm }));
    for (let i = 0; i < ours.length; i++) expect(maxAbsDiff(ours[i]!, back[i]!)).toBeLessThan(1e-5);

    tf.dispose([...ours, ...base, ...byHand, ...merged, ...back, ...Object.values(x)]);
    again.dispose();
    m.dispose();
  });
});

describe('extra_modules', () => {
  it('refuses a site the host does not have (gate on BERT), naming it', async () => {
    const m = new AdapterModel(await loadHost(CASES.bert.model), { methods: [...plugins], warn: () => undefined });
    expect(() => m.addAdapter('g', 'lora[extra_modules=["gate"]]')).toThrow(/module site 'ffn\.gateProjection'/);
    expect(() => m.addAdapter('h', 'lora[extra_modules=["nope"]]')).toThrow(/extra_modules/);
    expect(m.adapterNames()).toEqual([]);
    m.dispose();
  });
});
