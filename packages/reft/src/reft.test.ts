import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, AdapterConfigError, AdapterKitError, linear, registerTrainingSupport, type ModelInputs } from '@adapterkit/core';
import { initHost, loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff, readTensors } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiReftConfig, householderWeight, isReftInstance, LoReftConfig, NoReftConfig, parityAdapterConfig, plugins, type ReftInstance } from './index';

const GOLDEN_NEXT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden-next');
const LOREFT = join(GOLDEN_NEXT, 'cases/bert_v1/loreft');

describe('LoReFT on bert_v1 (adapters 1.1 parity)', () => {
  let model: AdapterModel;
  let inputs: ModelInputs;
  beforeAll(async () => {
    model = new AdapterModel(await loadHost(join(GOLDEN_NEXT, 'models/bert_v1')), { methods: [...plugins] });
    inputs = goldenInputs(GOLDEN_NEXT, 'bert_v1');
  });
  afterAll(() => {
    tf.dispose([inputs.inputIds, inputs.attentionMask!, inputs.tokenTypeIds!]);
    model.dispose();
  });

  it("the householder map of the stored parametrisation gives adapter_materialized.safetensors' weights", async () => {
    const stored = await readTensors(join(LOREFT, 'adapter.safetensors'));
    const materialized = await readTensors(join(LOREFT, 'adapter_materialized.safetensors'));
    expect(materialized.size).toBe(4);
    for (const [key, want] of materialized) {
      const unit = key.slice(0, -'.projection.weight'.length);
      const original = stored.get(`${unit}.projection.parametrizations.weight.original`) as tf.Tensor2D;
      const base = stored.get(`${unit}.projection.parametrizations.weight.0.base`) as tf.Tensor2D;
      const got = householderWeight(original, base);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      // orthonormal rows
      const gram = tf.matMul(got, got, false, true);
      expect(maxAbsDiff(gram, tf.eye(2))).toBeLessThan(1e-5);
      tf.dispose([got, gram]);
    }
    tf.dispose([...stored.values(), ...materialized.values()]);
  });

  it('loads the reference files (buffers included) and reproduces its outputs', async () => {
    const name = await model.loadAdapter(LOREFT, { setActive: true });
    const params = model.adapterParams(name);
    expect(params.filter((p) => !p.frozen).reduce((n, p) => n + p.variable.size, 0)).toBe(520);
    expect(params.filter((p) => p.frozen).map((p) => p.key)).toEqual([
      'encoder.layer.0.reft_layer.refts.loreft.units.0.projection.parametrizations.weight.0.base',
      'encoder.layer.0.reft_layer.refts.loreft.units.1.projection.parametrizations.weight.0.base',
      'encoder.layer.1.reft_layer.refts.loreft.units.0.projection.parametrizations.weight.0.base',
      'encoder.layer.1.reft_layer.refts.loreft.units.1.projection.parametrizations.weight.0.base',
    ]);
    const ref = await readTensors(join(LOREFT, 'output.safetensors'));
    const out = model.forward(inputs);
    expect(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.poolerOutput!, ref.get('pooler_output')!)).toBeLessThan(1e-5);
    tf.dispose([...ref.values(), out.lastHiddenState, out.poolerOutput!]);
  });

  it('writes the same adapter_config.json config as the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reft-'));
    try {
      await model.saveAdapter(dir, 'loreft');
      const ours = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { config: unknown };
      const ref = JSON.parse(readFileSync(join(LOREFT, 'adapter_config.json'), 'utf8')) as { config: unknown };
      expect(ours.config).toEqual(ref.config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ReFT behaviour on a tiny BERT', () => {
  const cfg = { model_type: 'bert', vocab_size: 64, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32 };
  // row 1 is right-padded from position 4: 4 tokens
  const batch = (): ModelInputs => ({
    inputIds: tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 0, 0]], [2, 6], 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], [2, 6], 'int32'),
  });

  /** Base output with the last layer's output edited by hand at the given positions (the rule of the README). */
  function manual(model: AdapterModel, name: string, inputs: ModelInputs, positions: number[][][], subtract: boolean): tf.Tensor3D {
    const instance = model.requireAdapter(name).members[0]!.instance as ReftInstance;
    const units = instance.units.get(1)!;
    model.setActiveAdapters(null);
    const base = model.forward(inputs).lastHiddenState;
    const rows = base.arraySync();
    positions.forEach((perUnit, u) => {
      const unit = units[u]!;
      const R = unit.projection();
      perUnit.forEach((cols, b) => {
        for (const s of cols) {
          const h = tf.tensor2d([rows[b]![s]!]);
          let src = linear(h, unit.sourceWeight as tf.Tensor as tf.Tensor2D, unit.sourceBias as tf.Tensor as tf.Tensor1D);
          if (subtract) src = tf.sub(src, tf.matMul(h, R, false, true));
          rows[b]![s] = Array.from(tf.add(h, tf.matMul(src, R)).dataSync());
        }
      });
    });
    tf.dispose(base);
    model.setActiveAdapters(name);
    return tf.tensor3d(rows);
  }

  for (const [label, config, subtract] of [
    ['noreft', NoReftConfig({ prefixPositions: 2, suffixPositions: 2, r: 3, layers: [1], dropout: 0 }), true],
    ['direft', DiReftConfig({ prefixPositions: 2, suffixPositions: 2, r: 3, layers: [1], dropout: 0 }), false],
  ] as const) {
    it(`${label}: edits prefix 0,1 and the last two non-padding positions (row 1: 2,3) as h + (Wh + b ${subtract ? '− Rh' : ''})R`, () => {
      const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
      model.addAdapter(label, config, { setActive: true, seed: 3 });
      const inputs = batch();
      const want = manual(model, label, inputs, [[[0, 1], [0, 1]], [[4, 5], [2, 3]]], subtract);
      const got = model.forward(inputs).lastHiddenState;
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      tf.dispose([got, want, inputs.inputIds, inputs.attentionMask!]);
      model.dispose();
    });
  }

  it('tied_weights: one unit edits prefix and suffix; overlapping positions take the suffix edit', () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('t', NoReftConfig({ prefixPositions: 3, suffixPositions: 2, r: 2, layers: [1], tiedWeights: true, dropout: 0 }), { setActive: true });
    const instance = model.requireAdapter('t').members[0]!.instance;
    expect(isReftInstance(instance) && instance.units.get(1)!.length).toBe(1);
    const inputs = batch();
    // row 1 has 4 tokens: prefix 0,1,2 and suffix 2,3 overlap at 2; the edit of a position is a function of h alone,
    // so the overlap gives the same value either way, and each position is edited once.
    const want = manual(model, 't', inputs, [[[0, 1, 2, 4, 5], [0, 1, 2, 3]]], true);
    const got = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    tf.dispose([got, want, inputs.inputIds, inputs.attentionMask!]);
    model.dispose();
  });

  it('a row shorter than the edited positions is a typed error naming the row', () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('l', LoReftConfig({ prefixPositions: 1, suffixPositions: 5, r: 2 }), { setActive: true });
    const inputs = batch();
    expect(() => model.forward(inputs)).toThrow(AdapterKitError);
    expect(() => model.forward(inputs)).toThrow(/suffix position -1 of batch row 1/);
    tf.dispose([inputs.inputIds, inputs.attentionMask!]);
    model.dispose();
  });

  it('trains learned_source and the parametrisation original, never the base buffer', async () => {
    await registerTrainingSupport();
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('l', LoReftConfig({ prefixPositions: 1, suffixPositions: 1, r: 2, dropout: 0 }));
    model.trainAdapter('l');
    const vars = model.trainableVariables();
    const keys = model.adapterParams('l').filter((p) => vars.includes(p.variable)).map((p) => p.key.split('.units.')[1]);
    expect(new Set(keys)).toEqual(new Set(['0.learned_source.weight', '0.learned_source.bias', '0.projection.parametrizations.weight.original', '1.learned_source.weight', '1.learned_source.bias', '1.projection.parametrizations.weight.original']));
    const inputs = batch();
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(inputs, { training: true }).lastHiddenState)) as tf.Scalar, vars);
    for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([...Object.values(grads), inputs.inputIds, inputs.attentionMask!]);
    model.dispose();
  });

  it("DiReFT writes subtract_projection: false; the reference's own DiReFT file (no flag) reads as NoReFT, as the reference reads it", async () => {
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    model.addAdapter('d', 'direft[prefix_positions=1,suffix_positions=1,r=2]');
    model.addAdapter('n', 'noreft[prefix_positions=1,suffix_positions=1,r=2]');
    const dir = mkdtempSync(join(tmpdir(), 'direft-'));
    try {
      await model.saveAdapter(join(dir, 'd'), 'd');
      await model.saveAdapter(join(dir, 'n'), 'n');
      const d = JSON.parse(readFileSync(join(dir, 'd', 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
      const n = JSON.parse(readFileSync(join(dir, 'n', 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
      expect(d.config['subtract_projection']).toBe(false);
      expect('subtract_projection' in n.config).toBe(false);
      const back = await model.loadAdapter(join(dir, 'd'), { loadAs: 'd2' });
      expect((model.requireAdapter(back).members[0]!.config as unknown as { subtractProjection: boolean }).subtractProjection).toBe(false);
      // the reference's file: the same config without the flag
      cpSync(join(dir, 'd'), join(dir, 'ref'), { recursive: true });
      const { subtract_projection: _dropped, ...rest } = d.config;
      writeFileSync(join(dir, 'ref', 'adapter_config.json'), JSON.stringify({ ...d, config: rest }));
      const ref = await model.loadAdapter(join(dir, 'ref'), { loadAs: 'd3' });
      expect((model.requireAdapter(ref).members[0]!.config as unknown as { subtractProjection: boolean }).subtractProjection).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('validates positions, rank and layers', () => {
    expect(() => LoReftConfig({ prefixPositions: 0, suffixPositions: 0 })).toThrow(AdapterConfigError);
    expect(() => LoReftConfig({ r: 0 })).toThrow(/'r'/);
    const model = new AdapterModel(initHost(cfg), { methods: [...plugins] });
    expect(() => model.addAdapter('x', 'loreft[r=16]')).toThrow(/below hidden_size/);
    expect(() => model.addAdapter('y', 'noreft[layers=[5]]')).toThrow(/layer 5/);
    model.dispose();
  });
});

describe('parityAdapterConfig', () => {
  const reftConfig = { architecture: 'reft', orthogonality: false, prefix_positions: 3, suffix_positions: 2, r: 2 };
  it('adds subtract_projection: false to a case recorded with DiReftConfig', () => {
    const meta = { description: 'DiReftConfig(prefix_positions=3, suffix_positions=2, r=2): no subtraction' };
    expect(parityAdapterConfig(meta, reftConfig)).toEqual({ ...reftConfig, subtract_projection: false });
  });
  it('leaves NoReFT cases, configs that carry the flag and other architectures alone', () => {
    expect(parityAdapterConfig({ description: 'NoReftConfig(prefix_positions=3)' }, reftConfig)).toBeUndefined();
    expect(parityAdapterConfig({ description: 'DiReftConfig()' }, { ...reftConfig, subtract_projection: false })).toBeUndefined();
    expect(parityAdapterConfig({ description: 'DiReftConfig()' }, { architecture: 'lora' })).toBeUndefined();
  });
});
