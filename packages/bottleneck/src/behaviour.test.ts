import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, init, layerNorm, linear, registerTrainingSupport, Rng, Stack, type ModelInputs } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterConfig, plugins } from './index';
import { createOneLayerHost, disposeAfterEach, GOLDEN_DIR, goldenModel, tokenIds } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport(); // gradient functions (tfjs-core registers none)
});

const { owned, tensors, keep } = disposeAfterEach();

async function bert(): Promise<{ model: AdapterModel; inputs: ModelInputs }> {
  const model = await goldenModel('bert');
  owned.push(model);
  const inputs = goldenInputs(GOLDEN_DIR, 'bert');
  tensors.push(...(Object.values(inputs) as tf.Tensor[]));
  return { model, inputs };
}

/** Overwrite every parameter of an adapter with 0.1·N(0,1) (1 + that for LayerNorm weights / scaling). */
function randomize(model: AdapterModel, name: string, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.adapterParams(name)) {
    const noise = init.normal(rng, [...p.variable.shape], 0.1);
    const ones = /norm_(before|after)\.weight$|\.scaling$/.test(p.key);
    p.variable.assign(ones ? tf.add(noise, 1) : noise);
    noise.dispose();
  }
}

function param(model: AdapterModel, name: string, suffix: string): tf.Tensor {
  const p = model.adapterParams(name).find((q) => q.key.endsWith(suffix));
  if (!p) throw new Error(`no parameter ending in ${suffix}`);
  return p.variable;
}

/** A(v) = W_up f(W_down v + b_down) + b_up for a one-layer adapter (ReLU unless given). */
function bottleneckOf(model: AdapterModel, name: string, act: (t: tf.Tensor) => tf.Tensor = tf.relu): (v: tf.Tensor) => tf.Tensor {
  const at = `layer.0.output.adapters.${name}.`;
  return (v) =>
    linear(act(linear(v, param(model, name, `${at}adapter_down.0.weight`) as tf.Tensor2D, param(model, name, `${at}adapter_down.0.bias`) as tf.Tensor1D)),
      param(model, name, `${at}adapter_up.weight`) as tf.Tensor2D,
      param(model, name, `${at}adapter_up.bias`) as tf.Tensor1D);
}

describe('a zero up-projection gives exactly the base output', () => {
  it.each(['pfeiffer', 'houlsby', 'parallel'])('%s', async (preset) => {
    const { model, inputs } = await bert();
    const base = keep(model.forward(inputs).lastHiddenState);
    model.addAdapter('a', preset, { setActive: true });
    randomize(model, 'a', 5);
    const perturbed = keep(model.forward(inputs).lastHiddenState);
    expect(maxAbsDiff(perturbed, base)).toBeGreaterThan(1e-3);
    for (const p of model.adapterParams('a')) if (p.key.includes('.adapter_up.')) p.variable.assign(tf.zerosLike(p.variable));
    const out = keep(model.forward(inputs).lastHiddenState);
    expect(maxAbsDiff(out, base)).toBe(0);
  });

  it('parallel is the identity at initialisation (mam_adapter init zeroes the up-projection)', async () => {
    const { model, inputs } = await bert();
    const base = keep(model.forward(inputs).lastHiddenState);
    model.addAdapter('a', 'parallel', { setActive: true });
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), base)).toBe(0);
  });
});

describe('composition: Stack semantics (pre + forward of each adapter, post of the last)', () => {
  function oneLayer(): { model: AdapterModel; x: tf.Tensor3D; h: tf.Tensor3D; ln: (t: tf.Tensor) => tf.Tensor; ids: tf.Tensor2D } {
    const { host, embed, sublayer, ln } = createOneLayerHost();
    const model = new AdapterModel(host, { methods: [...plugins] });
    owned.push(model);
    const ids = keep(tokenIds(2, 5, host.info.vocabSize));
    const x = keep(embed(ids));
    return { model, x, h: keep(sublayer(x)), ln, ids };
  }

  it('Stack(a, b) of two Pfeiffer adapters matches a hand computation', () => {
    const { model, x, h, ln, ids } = oneLayer();
    model.addAdapter('a', 'pfeiffer[reduction_factor=2]');
    model.addAdapter('b', 'pfeiffer[reduction_factor=4]');
    randomize(model, 'a', 11);
    randomize(model, 'b', 12);
    model.setActiveAdapters(Stack('a', 'b'));
    const A = bottleneckOf(model, 'a');
    const B = bottleneckOf(model, 'b');
    const expected = keep(
      tf.tidy(() => {
        const oA = tf.add(A(ln(tf.add(h, x))), h); // a: pre LN(h + x), residual h
        const oB = tf.add(B(ln(tf.add(oA, x))), oA); // b: pre on a's output, residual oA
        return ln(tf.add(oB, x)); // post of the last (b) only
      }),
    );
    const out = keep(model.forward({ inputIds: ids }).lastHiddenState);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
  });

  it('Stack with a parallel adapter: parallel reads x and its post adds the sub-layer output h, as the reference', () => {
    const { model, x, h, ln, ids } = oneLayer();
    model.addAdapter('s', 'pfeiffer[reduction_factor=2]');
    model.addAdapter('p', 'parallel[reduction_factor=2]');
    randomize(model, 's', 21);
    randomize(model, 'p', 22);
    const S = bottleneckOf(model, 's');
    const P = bottleneckOf(model, 'p');
    // Stack(p, s): s runs on p's output o_p = 4·A_p(x), then LN(o_s + x)
    model.setActiveAdapters(Stack('p', 's'));
    const ps = keep(
      tf.tidy(() => {
        const oP = tf.mul(P(x), 4);
        return ln(tf.add(tf.add(S(ln(tf.add(oP, x))), oP), x));
      }),
    );
    expect(maxAbsDiff(keep(model.forward({ inputIds: ids }).lastHiddenState), ps)).toBeLessThan(1e-6);
    // Stack(s, p): p's pre_forward ignores s's output; its post is LN(o_p + h + x)
    model.setActiveAdapters(Stack('s', 'p'));
    const sp = keep(tf.tidy(() => ln(tf.add(tf.add(tf.mul(P(x), 4), h), x))));
    expect(maxAbsDiff(keep(model.forward({ inputIds: ids }).lastHiddenState), sp)).toBeLessThan(1e-6);
  });

  it('all options together (ln_before, ln_after, gating, channel scaling, post_add, no original LN after) match a hand computation', () => {
    const { model, x, h, ln, ids } = oneLayer();
    const config = AdapterConfig({
      mhAdapter: false,
      outputAdapter: true,
      reductionFactor: 2,
      nonLinearity: 'tanh',
      originalLnBefore: true,
      originalLnAfter: false,
      residualBeforeLn: 'post_add',
      lnBefore: true,
      lnAfter: true,
      adapterResidualBeforeLn: true,
      useGating: true,
      scaling: 'channel',
    });
    model.addAdapter('a', config, { setActive: true });
    randomize(model, 'a', 31);
    const at = 'layer.0.output.adapters.a.';
    const keys = model.adapterParams('a').map((p) => p.key.slice(at.length));
    expect(keys.sort()).toEqual(
      ['adapter_down.1.bias', 'adapter_down.1.weight', 'adapter_norm_after.bias', 'adapter_norm_after.weight', 'adapter_norm_before.bias', 'adapter_norm_before.weight', 'adapter_up.bias', 'adapter_up.weight', 'gate.bias', 'gate.weight', 'scaling'].sort(),
    );
    expect(model.adapterParams('a').find((p) => p.key.endsWith('adapter_norm_before.weight'))!.aliases).toEqual([`${at}adapter_down.0.weight`]);
    const v = (s: string): tf.Tensor => param(model, 'a', `${at}${s}`);
    const expected = keep(
      tf.tidy(() => {
        const sum = tf.add(h, x);
        const input = ln(sum); // residual = sum ('post_add')
        const d = tf.tanh(linear(layerNorm(input, v('adapter_norm_before.weight') as tf.Tensor1D, v('adapter_norm_before.bias') as tf.Tensor1D, 1e-5), v('adapter_down.1.weight') as tf.Tensor2D, v('adapter_down.1.bias') as tf.Tensor1D));
        const up = tf.mul(linear(d, v('adapter_up.weight') as tf.Tensor2D, v('adapter_up.bias') as tf.Tensor1D), v('scaling'));
        const gate = tf.mean(tf.sigmoid(linear(input, v('gate.weight') as tf.Tensor2D, v('gate.bias') as tf.Tensor1D)), 1, true);
        const o = tf.add(tf.mul(up, gate), sum);
        return layerNorm(o, v('adapter_norm_after.weight') as tf.Tensor1D, v('adapter_norm_after.bias') as tf.Tensor1D, 1e-5); // no original LN after
      }),
    );
    expect(maxAbsDiff(keep(model.forward({ inputIds: ids }).lastHiddenState), expected)).toBeLessThan(1e-6);
  });
});

describe('placement and initialisation', () => {
  it('leave_out removes the layer, mh_adapter adds the attention location', async () => {
    const { model } = await bert();
    model.addAdapter('a', 'houlsby[leave_out=[0]]', { setActive: true });
    expect(model.adapterParams('a').every((p) => p.key.startsWith('encoder.layer.1.'))).toBe(true);
    expect(model.describeHooks().map((r) => `${r.point}@${r.layer}`)).toEqual(['attention.output@1', 'ffn.output@1']);
  });

  it('GPT-2 keys use the reference module paths', async () => {
    const model = await goldenModel('gpt2');
    owned.push(model);
    model.addAdapter('a', 'houlsby');
    const keys = model.adapterParams('a').map((p) => p.key);
    expect(keys).toContain('h.0.attention_adapters.adapters.a.adapter_down.0.weight');
    expect(keys).toContain('h.1.output_adapters.adapters.a.adapter_up.bias');
  });

  it('init schemes: bert N(0, 0.02), mam_adapter kaiming/zero up, houlsby truncated N(0, 0.01) in ±0.02, learned scaling 1', async () => {
    const { model } = await bert();
    model.addAdapter('b', 'pfeiffer[reduction_factor=0.25]'); // 128 wide: enough samples
    model.addAdapter('m', 'scaled_parallel');
    model.addAdapter('h', "pfeiffer[init_weights='houlsby', reduction_factor=0.25, use_gating=True]");
    const values = (name: string, suffix: string): Float32Array => param(model, name, suffix).dataSync() as Float32Array;
    const std = (a: Float32Array): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    const down = 'encoder.layer.0.output.adapters.%.adapter_down.0.weight';
    const upW = 'encoder.layer.0.output.adapters.%.adapter_up.weight';
    expect(std(values('b', down.replace('%', 'b')))).toBeCloseTo(0.02, 2);
    expect(std(values('b', upW.replace('%', 'b')))).toBeCloseTo(0.02, 2);
    expect(values('b', 'encoder.layer.0.output.adapters.b.adapter_down.0.bias').every((x) => x === 0)).toBe(true);
    const bound = 1 / Math.sqrt(32);
    const mDown = values('m', down.replace('%', 'm'));
    expect(mDown.every((x) => Math.abs(x) <= bound)).toBe(true);
    expect(std(mDown)).toBeGreaterThan(bound / 3);
    expect(values('m', upW.replace('%', 'm')).every((x) => x === 0)).toBe(true);
    expect([...values('m', 'encoder.layer.0.output.adapters.m.scaling')]).toEqual([1]);
    const hDown = values('h', down.replace('%', 'h'));
    expect(hDown.every((x) => Math.abs(x) <= 0.02)).toBe(true);
    expect(std(hDown)).toBeGreaterThan(0.006);
    expect(std(hDown)).toBeLessThan(0.01);
    expect(values('h', 'encoder.layer.0.output.adapters.h.gate.bias').some((x) => x !== 0)).toBe(true); // PyTorch default init
  });
});

describe('memory and training', () => {
  it('numTensors stays flat over 50 forwards and across add/delete', async () => {
    const { model, inputs } = await bert();
    const before = tf.memory().numTensors;
    model.addAdapter('a', "pfeiffer[ln_before=True, ln_after=True, use_gating=True, scaling='channel']");
    model.addAdapter('b', 'houlsby');
    model.addAdapter('c', 'scaled_parallel[dropout=0.1]');
    model.setActiveAdapters(Stack('a', 'b', 'c'));
    tf.dispose(model.forward(inputs, { training: true }) as never);
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(model.forward(inputs, { training: i % 2 === 0 }) as never);
    expect(tf.memory().numTensors).toBe(afterFirst);
    for (const n of ['a', 'b', 'c']) model.deleteAdapter(n);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dropout acts in training only', async () => {
    const { model, inputs } = await bert();
    model.addAdapter('a', 'pfeiffer[dropout=0.5]', { setActive: true });
    randomize(model, 'a', 3);
    const eval1 = keep(model.forward(inputs).lastHiddenState);
    const eval2 = keep(model.forward(inputs).lastHiddenState);
    const train = keep(model.forward(inputs, { training: true }).lastHiddenState);
    expect(maxAbsDiff(eval1, eval2)).toBe(0);
    expect(maxAbsDiff(train, eval1)).toBeGreaterThan(1e-4);
  });

  it('trainAdapter + one SGD step changes adapter variables and leaves every base variable bit-identical', async () => {
    const { model, inputs } = await bert();
    model.addAdapter('a', 'pfeiffer');
    model.addAdapter('other', 'houlsby');
    model.trainAdapter('a');
    const snapshot = (vars: Iterable<tf.Variable>): Float32Array[] => [...vars].map((v) => v.dataSync().slice() as Float32Array);
    const base = snapshot(model.host.parameters.values());
    const adapter = snapshot(model.adapterParams('a').map((p) => p.variable));
    const other = snapshot(model.adapterParams('other').map((p) => p.variable));
    const trainable = model.trainableVariables();
    expect(trainable).toHaveLength(model.adapterParams('a').length);
    const optimizer = tf.train.sgd(0.5);
    tf.tidy(() => {
      optimizer.minimize(() => tf.mean(tf.square(model.forward(inputs, { training: true }).lastHiddenState)) as tf.Scalar, false, trainable);
    });
    optimizer.dispose();
    const same = (a: Float32Array[], b: Float32Array[]): boolean => a.every((x, i) => x.length === b[i]!.length && x.every((v, j) => Object.is(v, b[i]![j])));
    expect(same(snapshot(model.host.parameters.values()), base)).toBe(true);
    expect(same(snapshot(model.adapterParams('other').map((p) => p.variable)), other)).toBe(true);
    const changed = snapshot(model.adapterParams('a').map((p) => p.variable)).map((v, i) => !v.every((x, j) => x === adapter[i]![j]));
    expect(changed.every(Boolean)).toBe(true);
  });
});

describe('an inference forward (bias and ReLU fused into the matMuls) equals a gradient-recording forward (core linear)', () => {
  it.each(['pfeiffer', "pfeiffer[non_linearity='tanh']", 'houlsby'])('%s', async (config) => {
    const { model, inputs } = await bert();
    model.addAdapter('a', config, { setActive: true });
    randomize(model, 'a', 7);
    const profile = await tf.profile(() => keep(model.forward(inputs).lastHiddenState));
    const plain = profile.result as tf.Tensor;
    const fusedCalls = profile.kernels.filter((k) => k.name === '_FusedMatMul').length;
    // 2 layers × 2 dense layers per adapter module (houlsby: 2 locations)
    expect(fusedCalls).toBe(config === 'houlsby' ? 8 : 4);
    model.trainAdapter('a');
    let recorded: tf.Tensor | undefined;
    const recordedProfile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(inputs).lastHiddenState;
        recorded = tf.keep(tf.clone(out));
        tensors.push(recorded);
        return tf.sum(out) as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(recordedProfile.kernels.filter((k) => k.name === '_FusedMatMul')).toHaveLength(0);
    expect(maxAbsDiff(plain, recorded!)).toBeLessThan(1e-5);
  });
});
