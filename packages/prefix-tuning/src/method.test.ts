import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  AdapterConfigError,
  AdapterModel,
  AdapterStateError,
  CapabilityError,
  defineAdapterMethod,
  Fuse,
  registerTrainingSupport,
  Stack,
  type AdapterConfigBase,
  type KeyValuePayload,
} from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ejectPrefixTuning, isPrefixTuningInstance, plugins, PrefixTuningConfig, prefixTuning, type PrefixForwardState } from './index';
import { disposeAll, GOLDEN, goldenInputs, goldenModel, maxAbsDiff } from './test-helpers';

const H = 32;
const HEADS = 4;
const HEAD_DIM = 8;
const S = 12;

interface ProbeConfig extends AdapterConfigBase {
  readonly method: 'test-probe';
}

interface KvRecord {
  readonly layer: number;
  readonly key: number[][][][];
  readonly value: number[][][][];
  readonly mask: number[][][][];
}

/** A method that records the `attention.kv` payload it receives (run after prefix adapters in a Stack). */
function probeMethod(records: KvRecord[]) {
  return defineAdapterMethod<ProbeConfig>({
    name: 'test-probe',
    architecture: 'test_probe',
    fields: {},
    defaults: {},
    hooks: ['attention.kv'],
    meta: { package: 'test', version: '0.0.0', apiVersion: 1 },
    create: () => ({
      handlers: {
        'attention.kv': (layer) => (p: KeyValuePayload, next) => {
          records.push({ layer, key: p.key.arraySync(), value: p.value.arraySync(), mask: p.mask.arraySync() });
          return next(p);
        },
      },
    }),
  });
}

/** Flat `control_trans` of a flat adapter as `[P, 2·L, heads, headDim]` nested arrays. */
function flatPrefix(model: AdapterModel, name: string, P: number): number[][][][] {
  const v = model.adapterParams(name)[0]!.variable;
  return tf.tidy(() => tf.reshape(v, [P, -1, HEADS, HEAD_DIM]).arraySync() as number[][][][]);
}

/** Slab `slab` of a `[P, 2·L, heads, headDim]` prefix as `[heads, P, headDim]`. */
function slab(prefix: number[][][][], s: number): number[][][] {
  return Array.from({ length: HEADS }, (_, h) => prefix.map((row) => row[s]![h]!));
}

function close(a: number[][][], b: number[][][]): number {
  return Math.max(...a.flat(2).map((x, i) => Math.abs(x - b.flat(2)[i]!)));
}

describe('prefix tuning behaviour', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await registerTrainingSupport();
  });

  it('PrefixTuningConfig has the reference defaults and rejects unknown fields', () => {
    expect(PrefixTuningConfig()).toEqual({
      method: 'prefix_tuning',
      encoderPrefix: true,
      crossPrefix: true,
      leaveOut: [],
      flat: false,
      prefixLength: 30,
      bottleneckSize: 512,
      nonLinearity: 'tanh',
      dropout: 0,
      useGating: false,
      sharedGating: true,
    });
    expect(PrefixTuningConfig({ prefixLength: 8, flat: true }).flat).toBe(true);
    expect(() => PrefixTuningConfig({ prefixLen: 8 } as never)).toThrow(AdapterConfigError);
    expect(() => PrefixTuningConfig({ prefixLength: 0 })).toThrow(/prefix_length/);
    expect(() => PrefixTuningConfig({ nonLinearity: 'nope' })).toThrow(AdapterConfigError);
  });

  it('resolves the config names and rejects a config that leaves out every layer', async () => {
    const model = await goldenModel('bert');
    model.addAdapter('flat', 'prefix_tuning_flat[prefix_length=4]');
    expect(model.adapterParams('flat').map((p) => p.variable.size)).toEqual([4 * 2 * 2 * H]);
    model.addAdapter('mlp', 'prefix_tuning[prefix_length=4, bottleneck_size=16]');
    expect(model.adapterSummary()[1]!.numParams).toBe(4 * H + H * 16 + 16 + 16 * 2 * 2 * H + 2 * 2 * H);
    model.addAdapter('obj', PrefixTuningConfig({ prefixLength: 3, flat: true, leaveOut: [1] }));
    expect(model.adapterParams('obj')[0]!.variable.size).toBe(3 * 1 * 2 * H);
    expect(() => model.addAdapter('none', 'prefix_tuning[leave_out=[0, 1]]')).toThrow(/leave_out/);
    model.dispose();
  });

  it('prepends layer l the key slab 2l and value slab 2l+1 (counting prefixed layers only) and zeros to the mask', async () => {
    const records: KvRecord[] = [];
    const host = await loadHost(join(GOLDEN, 'models', 'bert'));
    const model = new AdapterModel(host, { methods: [...plugins, probeMethod(records)], warn: () => undefined });
    model.addAdapter('p', PrefixTuningConfig({ prefixLength: 3, flat: true, leaveOut: [0] }));
    model.addAdapter('probe', { method: 'test-probe' });
    const inputs = goldenInputs('bert');
    model.setActiveAdapters(Stack('probe'));
    disposeAll(model.forward(inputs));
    const plain = records.splice(0);
    model.setActiveAdapters(Stack('p', 'probe'));
    disposeAll(model.forward(inputs));
    const [l0, l1] = records;
    // layer 0 is left out: untouched
    expect(l0!.key[0]![0]!.length).toBe(S);
    expect(l0!.key).toEqual(plain[0]!.key);
    // layer 1 is the first prefixed layer: slabs 0 (key) and 1 (value), prefix first, for every batch row
    const prefix = flatPrefix(model, 'p', 3);
    for (const b of [0, 1]) {
      expect(l1!.key[b]!.map((h) => h.length)).toEqual([15, 15, 15, 15]);
      expect(close(l1!.key[b]!.map((h) => h.slice(0, 3)), slab(prefix, 0))).toBeLessThan(1e-6);
      expect(close(l1!.value[b]!.map((h) => h.slice(0, 3)), slab(prefix, 1))).toBeLessThan(1e-6);
      expect(close(l1!.key[b]!.map((h) => h.slice(3)), plain[1]!.key[b]!)).toBeLessThan(1e-6);
      expect(l1!.mask[b]![0]![0]!.slice(0, 3)).toEqual([0, 0, 0]);
      expect(l1!.mask[b]![0]![0]!.slice(3)).toEqual(plain[1]!.mask[b]![0]![0]);
    }
    expect(l1!.mask[1]![0]![0]![3 + 8]).toBeLessThan(-1e8); // padding stays masked
    disposeAll(inputs);
    model.dispose();
  });

  it('stacks prefixes as [P_b ; P_a ; K]', async () => {
    const records: KvRecord[] = [];
    const host = await loadHost(join(GOLDEN, 'models', 'bert'));
    const model = new AdapterModel(host, { methods: [...plugins, probeMethod(records)], warn: () => undefined });
    model.addAdapter('a', PrefixTuningConfig({ prefixLength: 2, flat: true }));
    model.addAdapter('b', PrefixTuningConfig({ prefixLength: 3, flat: true }));
    model.addAdapter('probe', { method: 'test-probe' });
    model.setActiveAdapters(Stack('a', 'b', 'probe'));
    const inputs = goldenInputs('bert');
    disposeAll(model.forward(inputs));
    const layer1 = records[1]!;
    const a = flatPrefix(model, 'a', 2);
    const b = flatPrefix(model, 'b', 3);
    const keys = layer1.key[0]!;
    expect(keys[0]!.length).toBe(3 + 2 + S);
    expect(close(keys.map((h) => h.slice(0, 3)), slab(b, 2))).toBeLessThan(1e-6);
    expect(close(keys.map((h) => h.slice(3, 5)), slab(a, 2))).toBeLessThan(1e-6);
    expect(layer1.mask[0]![0]![0]!.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(() => model.setActiveAdapters(Fuse('a', 'b'))).toThrow(CapabilityError);
    disposeAll(inputs);
    model.dispose();
  });

  it('works for any batch size and keeps padding masked', async () => {
    const model = await goldenModel('bert');
    model.addAdapter('p', 'prefix_tuning[prefix_length=5, bottleneck_size=16]', { setActive: true });
    const full = goldenInputs('bert');
    const outFull = model.forward(full);
    for (const rows of [[0], [1], [1, 0, 1]]) {
      const inputs = goldenInputs('bert', rows);
      const out = model.forward(inputs);
      rows.forEach((r, i) => {
        const ours = tf.slice(out.lastHiddenState, [i, 0, 0], [1, S, H]);
        const ref = tf.slice(outFull.lastHiddenState, [r, 0, 0], [1, S, H]);
        expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5);
        tf.dispose([ours, ref]);
      });
      disposeAll(out);
      disposeAll(inputs);
    }
    // changing the tokens at row 1's padded positions (8..11) does not change its real positions
    const ids = full.inputIds.arraySync();
    ids[1] = ids[1]!.map((t, i) => (i >= 8 ? (t + 7) % 500 : t));
    const changed = { ...full, inputIds: tf.tensor2d(ids, [2, S], 'int32') };
    const outChanged = model.forward(changed);
    const real = (t: tf.Tensor3D): tf.Tensor => tf.slice(t, [1, 0, 0], [1, 8, H]);
    const [x, y] = [real(outFull.lastHiddenState), real(outChanged.lastHiddenState)];
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-5);
    tf.dispose([x, y, changed.inputIds]);
    disposeAll(outFull);
    disposeAll(outChanged);
    disposeAll(full);
    model.dispose();
  });

  it('leaks no tensors over 50 forwards, nor across add/delete', async () => {
    const model = await goldenModel('gpt2');
    const inputs = goldenInputs('gpt2');
    const start = tf.memory().numTensors;
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=16]', { setActive: true });
    const afterAdd = tf.memory().numTensors;
    expect(afterAdd - start).toBe(5);
    disposeAll(model.forward(inputs, { lmLogits: true }));
    const warm = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) disposeAll(model.forward(inputs, { lmLogits: true }));
    expect(tf.memory().numTensors).toBe(warm);
    ejectPrefixTuning(model, 'p');
    disposeAll(model.forward(inputs, { lmLogits: true }));
    expect(tf.memory().numTensors).toBe(start + 1);
    model.deleteAdapter('p');
    expect(tf.memory().numTensors).toBe(start);
    disposeAll(inputs);
    model.dispose();
  });

  it('trains only the prefix parameters: one SGD step changes them and no base variable', async () => {
    for (const config of ['prefix_tuning[prefix_length=4, bottleneck_size=16]', 'prefix_tuning_flat[prefix_length=4]']) {
      const model = await goldenModel('bert');
      model.addAdapter('p', config);
      model.trainAdapter('p');
      const adapterVars = model.adapterParams('p').map((p) => p.variable);
      expect(model.trainableVariables()).toEqual(adapterVars);
      const snapshot = (vs: readonly tf.Variable[]): tf.Tensor[] => vs.map((v) => tf.clone(v));
      const baseVars = [...model.host.parameters.values()];
      const base0 = snapshot(baseVars);
      const adapter0 = snapshot(adapterVars);
      const inputs = goldenInputs('bert');
      const opt = tf.train.sgd(0.1);
      opt.minimize(() => tf.mean(tf.square(model.forward(inputs, { training: true }).lastHiddenState)), false, model.trainableVariables());
      baseVars.forEach((v, i) => expect(maxAbsDiff(v, base0[i]!)).toBe(0));
      adapterVars.forEach((v, i) => expect(maxAbsDiff(v, adapter0[i]!)).toBeGreaterThan(0));
      tf.dispose([...base0, ...adapter0]);
      opt.dispose();
      disposeAll(inputs);
      model.dispose();
    }
  });

  it('applies dropout to the prefixes only in training', async () => {
    const model = await goldenModel('bert');
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=6, dropout=0.5]', { setActive: true });
    const inputs = goldenInputs('bert');
    const [e1, e2, t1] = [model.forward(inputs), model.forward(inputs), model.forward(inputs, { training: true })];
    expect(maxAbsDiff(e1.lastHiddenState, e2.lastHiddenState)).toBe(0);
    expect(maxAbsDiff(e1.lastHiddenState, t1.lastHiddenState)).toBeGreaterThan(1e-4);
    [e1, e2, t1, inputs].forEach(disposeAll);
    model.dispose();
  });

  it('ejectPrefixTuning restores the training setup, and rejects unknown adapters; flat prefixes are left alone', async () => {
    const model = await goldenModel('bert');
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=16, leave_out=[1]]');
    model.addAdapter('q', 'prefix_tuning_flat[prefix_length=2]');
    model.trainAdapter(Stack('p', 'q'));
    ejectPrefixTuning(model, 'p');
    expect(model.trainingSetup?.children).toEqual(['p', 'q']);
    expect(model.activeAdapters?.children).toEqual(['p', 'q']);
    expect(model.adapterParams('p').map((p) => [p.key, p.variable.size, p.variable.trainable])).toEqual([
      ['prefix_tuning.prefix_tunings.p.self_prefix.control_trans', 4 * 1 * 2 * H, true],
    ]);
    const q = model.adapterParams('q')[0]!.variable;
    ejectPrefixTuning(model, 'q');
    expect(model.adapterParams('q')[0]!.variable).toBe(q);
    expect(() => ejectPrefixTuning(model, 'nope')).toThrow(AdapterStateError);
    model.dispose();
  });

  describe('gating (use_gating)', () => {
    it('registers one gate per prefixed layer under the reference keys', async () => {
      const model = await goldenModel('bert');
      model.addAdapter('g', 'prefix_tuning_flat[prefix_length=2, use_gating=True, shared_gating=False, leave_out=[0]]');
      const params = model.adapterParams('g').map((p) => [p.key, p.variable.shape]);
      expect(params).toEqual([
        ['prefix_tuning.prefix_tunings.g.self_prefix.control_trans', [2 * 1 * 2 * H]],
        ['encoder.layer.1.attention.self.prefix_tuning.prefix_gates.g.weight', [H, 2]],
        ['encoder.layer.1.attention.self.prefix_tuning.prefix_gates.g.bias', [2]],
      ]);
      model.dispose();
    });

    it('runs on the real hosts (they pass the attention input) and a closed gate removes the prefix', async () => {
      const model = await goldenModel('bert');
      const inputs = goldenInputs('bert');
      const base = model.forward(inputs).lastHiddenState;
      model.addAdapter('g', 'prefix_tuning_flat[prefix_length=2, use_gating=True]', { setActive: true });
      const gated = model.forward(inputs).lastHiddenState;
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(gated, base))).dataSync()[0]!)).toBeGreaterThan(1e-4);
      // gate bias → -∞: σ = 0, prefix keys and values become 0 — the prefix still takes attention mass, so the
      // output differs from base, but it must equal an explicit all-zero prefix.
      for (const p of model.adapterParams('g')) {
        if (p.key.endsWith('prefix_gates.g.bias')) p.variable.assign(tf.fill(p.variable.shape, -1e4));
        if (p.key.endsWith('prefix_gates.g.weight')) p.variable.assign(tf.zerosLike(p.variable));
      }
      const closed = model.forward(inputs).lastHiddenState;
      model.addAdapter('z', 'prefix_tuning_flat[prefix_length=2]', { setActive: true });
      for (const p of model.adapterParams('z')) p.variable.assign(tf.zerosLike(p.variable));
      const zero = model.forward(inputs).lastHiddenState;
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(closed, zero))).dataSync()[0]!)).toBeLessThan(1e-5);
      tf.dispose([base, gated, closed, zero]);
      disposeAll(inputs);
      model.dispose();
    });

    it('scales prefix keys by the mean over the sequence of σ(x·W+b)[:, 0] and values by [:, -1]', async () => {
      const model = await goldenModel('bert');
      model.addAdapter('g', 'prefix_tuning_flat[prefix_length=2, use_gating=True, shared_gating=False]');
      const member = model.requireAdapter('g').members[0]!;
      expect(member.method).toBe(prefixTuning);
      const instance = member.instance;
      if (!isPrefixTuningInstance(instance)) throw new Error('not a prefix-tuning instance');
      const B = 2;
      const P = 2;
      const seq = 5;
      tf.tidy(() => {
        const input = tf.randomNormal([B, seq, H], 0, 1, 'float32', 3) as tf.Tensor3D;
        const key = tf.randomNormal([B, HEADS, seq, HEAD_DIM], 0, 1, 'float32', 4) as tf.Tensor4D;
        const value = tf.randomNormal([B, HEADS, seq, HEAD_DIM], 0, 1, 'float32', 5) as tf.Tensor4D;
        const mask = tf.zeros([B, 1, 1, seq]) as tf.Tensor4D;
        const forward = { batchSize: B, seqLength: seq, training: false };
        const state = instance.beginForward!(forward);
        const handler = instance.handlers['attention.kv']!(1)!;
        const out = handler({ key, value, mask, input } as KeyValuePayload, (p) => p, { layer: 1, adapter: 'g', state, forward });
        const [w, b] = model.adapterParams('g').slice(3).map((p) => p.variable);
        const g = tf.mean(tf.reshape(tf.sigmoid(tf.add(tf.matMul(tf.reshape(input, [-1, H]), w as tf.Tensor2D), b!)), [B, seq, 2]), 1);
        const slabs = (state as PrefixForwardState).slabs; // [2L, heads, P, hd]
        const gates = g.arraySync() as number[][];
        for (let r = 0; r < B; r++) {
          const [gk, gv] = gates[r]! as [number, number];
          const expectK = tf.mul(tf.slice(slabs, [2, 0, 0, 0], [1, HEADS, P, HEAD_DIM]), gk);
          const expectV = tf.mul(tf.slice(slabs, [3, 0, 0, 0], [1, HEADS, P, HEAD_DIM]), gv);
          expect(maxAbsDiff(tf.slice(out.key, [r, 0, 0, 0], [1, HEADS, P, HEAD_DIM]), expectK)).toBeLessThan(1e-6);
          expect(maxAbsDiff(tf.slice(out.value, [r, 0, 0, 0], [1, HEADS, P, HEAD_DIM]), expectV)).toBeLessThan(1e-6);
        }
        expect(maxAbsDiff(tf.slice(out.key, [0, 0, P, 0], [B, HEADS, seq, HEAD_DIM]), key)).toBe(0);
        expect(out.mask.shape).toEqual([B, 1, 1, P + seq]);
      });
      model.dispose();
    });
  });
});
