import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterModel,
  Average,
  BatchSplit,
  defineAdapterMethod,
  Fuse,
  init,
  linear,
  Parallel,
  registerTrainingSupport,
  Rng,
  Split,
  Stack,
  type ModelInputs,
} from '@adapterkit/core';
import { goldenInputs, maxAbsDiff, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { addAdapterFusion, adapterFusionParams, loadAdapterFusion, plugins, splitParallelOutputs } from './index';
import { caseDir, createOneLayerHost, disposeAfterEach, GOLDEN_DIR, goldenModel, testNiceExtension, tokenIds } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

const { owned, tensors, keep } = disposeAfterEach();

/** Overwrite every parameter of an adapter with 0.1·N(0,1). */
function randomize(params: ReadonlyArray<{ variable: tf.Variable }>, seed: number, std = 0.1): void {
  const rng = new Rng(seed);
  for (const p of params) {
    const noise = init.normal(rng, [...p.variable.shape], std);
    p.variable.assign(noise);
    noise.dispose();
  }
}

describe('golden composition cases through the parity runner (loadAdapter ×2, loadAdapterFusion, setActiveAdapters)', () => {
  it.each(['bert/comp_stack', 'bert/comp_fuse_dynamic', 'bert/comp_batchsplit', 'bert/comp_parallel'])('%s within 1e-4', async (id) => {
    const lines: string[] = [];
    const { results } = await runParity({
      goldenDir: GOLDEN_DIR,
      cases: id,
      plugins: [...plugins, testNiceExtension],
      extras: { loadAdapterFusion },
      log: (l) => lines.push(l),
    });
    expect(results[0]!.status, lines.join('\n')).toBe('PASS');
    expect(results[0]!.maxAbsDiff!).toBeLessThanOrEqual(1e-4);
    console.log(lines[0]);
  });
});

/** A one-layer model (adapters only at `ffn.output`, layer 0) with hand-computable tensors. */
function oneLayer(batch = 2, seq = 6): { model: AdapterModel; x: tf.Tensor3D; h: tf.Tensor3D; ln: (t: tf.Tensor) => tf.Tensor; inputs: ModelInputs } {
  const { host, embed, sublayer, ln } = createOneLayerHost();
  const model = new AdapterModel(host, { methods: [...plugins] });
  owned.push(model);
  const ids = keep(tokenIds(batch, seq, host.info.vocabSize));
  const x = keep(embed(ids));
  return { model, x, h: keep(sublayer(x)), ln, inputs: { inputIds: ids } };
}

function param(model: AdapterModel, name: string, suffix: string): tf.Tensor {
  const p = model.adapterParams(name).find((q) => q.key.endsWith(suffix));
  if (!p) throw new Error(`no parameter ending in ${suffix}`);
  return p.variable;
}

/** u(v) = W_up relu(W_down v + b_down) + b_up of a one-layer adapter. */
function upOf(model: AdapterModel, name: string): (v: tf.Tensor) => tf.Tensor {
  const at = `layer.0.output.adapters.${name}.`;
  const W = (s: string): tf.Tensor2D => param(model, name, at + s) as tf.Tensor2D;
  const b = (s: string): tf.Tensor1D => param(model, name, at + s) as tf.Tensor1D;
  return (v) => linear(tf.relu(linear(v, W('adapter_down.0.weight'), b('adapter_down.0.bias'))), W('adapter_up.weight'), b('adapter_up.bias'));
}

function fusionParam(model: AdapterModel, fusion: string, suffix: string): tf.Tensor {
  const p = adapterFusionParams(model, fusion).find((q) => q.key.endsWith(suffix));
  if (!p) throw new Error(`no fusion parameter ending in ${suffix}`);
  return p.variable;
}

/** Three random one-layer adapters: a (Pfeiffer: residual h), b (Pfeiffer with residual_before_ln=False: residual h′), c. */
function threeAdapters(model: AdapterModel): void {
  model.addAdapter('a', 'pfeiffer[reduction_factor=2]');
  model.addAdapter('b', 'pfeiffer[reduction_factor=4, residual_before_ln=False]');
  model.addAdapter('c', 'pfeiffer[reduction_factor=4, original_ln_after=False]');
  ['a', 'b', 'c'].forEach((n, i) => randomize(model.adapterParams(n), 31 + i));
}

describe('Split, BatchSplit, Parallel, Average and Fuse match hand computations (reference §3.2 / §3.3)', () => {
  it('Split(a, b, 2): pre_forward of the first adapter, positions [0,2) → a, [2,S) → b, post of the last', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    model.setActiveAdapters(Split('b', 'a', 2));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // b's pre: h′ = LN(h + x), residual h′ (residual_before_ln False)
        const oB = tf.add(upOf(model, 'b')(hp), hp);
        const oA = tf.add(upOf(model, 'a')(hp), hp); // a's forward only, with the block's residual h′
        const o = tf.concat([tf.slice(oB, [0, 0, 0], [-1, 2, -1]), tf.slice(oA, [0, 2, 0], [-1, -1, -1])], 1);
        return ln(tf.add(o, x)); // post of the last adapter (a)
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-6);
  });

  it('Split(a, c, 3): the last adapter decides post_forward (c has original_ln_after=False: no final LN)', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    model.setActiveAdapters(Split('a', 'c', 3));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x));
        const oA = tf.add(upOf(model, 'a')(hp), h);
        const oC = tf.add(upOf(model, 'c')(hp), h);
        return tf.concat([tf.slice(oA, [0, 0, 0], [-1, 3, -1]), tf.slice(oC, [0, 3, 0], [-1, -1, -1])], 1);
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-6);
  });

  it('BatchSplit(Stack(a, b), c, [1, 1]): a nested Stack re-applies each adapter\'s pre_forward to the block\'s h′', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    model.setActiveAdapters(BatchSplit(Stack('a', 'b'), 'c', [1, 1]));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // pre of the block's first adapter (a): residual h
        const oA = tf.add(upOf(model, 'a')(ln(tf.add(hp, x))), hp); // Stack: a's own pre on h′
        const hb = ln(tf.add(oA, x));
        const oB = tf.add(upOf(model, 'b')(hb), hb);
        const oC = tf.add(upOf(model, 'c')(hp), h);
        const o = tf.concat([tf.slice(oB, [0, 0, 0], [1, -1, -1]), tf.slice(oC, [1, 0, 0], [1, -1, -1])], 0);
        return o; // post of the last adapter (c): original_ln_after False
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-6);
  });

  it('BatchSplit whose sizes do not add up to the batch fails in the forward, naming the sizes', () => {
    const { model, inputs } = oneLayer();
    threeAdapters(model);
    model.setActiveAdapters(BatchSplit('a', 'b', [1, 2]));
    expect(() => model.forward(inputs)).toThrow(/batch_sizes \[1, 2\] add up to 3, but the batch .* has 2 rows/);
  });

  it('Parallel(a, b): output batch × 2, channel i = the single-adapter run; splitParallelOutputs splits it', () => {
    const { model, inputs } = oneLayer();
    threeAdapters(model);
    const single = (n: string): tf.Tensor3D => {
      model.setActiveAdapters(n);
      return keep(model.forward(inputs).lastHiddenState);
    };
    const [ya, yb] = [single('a'), single('b')];
    model.setActiveAdapters(Parallel('a', 'b'));
    const out = model.forward(inputs);
    keep(out.lastHiddenState);
    expect(out.lastHiddenState.shape).toEqual([4, 6, 8]);
    const [pa, pb] = splitParallelOutputs(out, 2);
    keep(pa!.lastHiddenState);
    keep(pb!.lastHiddenState);
    // a's channel: pre of the first adapter (a) = a's own pre, so it equals the single run exactly
    expect(maxAbsDiff(pa!.lastHiddenState, ya)).toBeLessThan(1e-6);
    expect(pb!.lastHiddenState.shape).toEqual([2, 6, 8]);
    expect(() => splitParallelOutputs(out, 3)).toThrow(/batch 4 into 3/);
    expect(maxAbsDiff(pb!.lastHiddenState, yb)).toBeGreaterThan(0); // b's channel uses a's pre (residual h, not h′)
  });

  it('Average([a, b], [1, 3]) is (1/N)·Σ w_i o_i with normalised weights, as `adapters` computes it', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    model.setActiveAdapters(Average(['a', 'b'], [1, 3]));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // a's pre: residual h
        const oA = tf.add(upOf(model, 'a')(hp), h);
        const oB = tf.add(upOf(model, 'b')(hp), h);
        const mean = tf.div(tf.add(tf.mul(oA, 0.25), tf.mul(oB, 0.75)), 2);
        return ln(tf.add(mean, x)); // post of b
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-6);
  });

  it('Fuse(a, b) with the static config: query/key attention over the up-projections, last adapter\'s pre and post', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    addAdapterFusion(model, Fuse('a', 'b'), 'static');
    randomize(adapterFusionParams(model, 'a,b'), 41, 0.3);
    expect(adapterFusionParams(model, 'a,b').map((p) => p.key)).toEqual(
      ['query.weight', 'query.bias', 'key.weight', 'key.bias'].map((s) => `layer.0.output.adapter_fusion_layer.a,b.${s}`),
    );
    model.setActiveAdapters(Fuse('a', 'b'));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // b's pre: query h′, residual h′
        const U = [upOf(model, 'a')(hp), upOf(model, 'b')(hp)];
        const f = (s: string): tf.Tensor => fusionParam(model, 'a,b', s);
        const Q = linear(hp, f('query.weight') as tf.Tensor2D, f('query.bias') as tf.Tensor1D);
        const K = U.map((u) => linear(u, f('key.weight') as tf.Tensor2D, f('key.bias') as tf.Tensor1D));
        const scores = tf.stack(K.map((k) => tf.sum(tf.mul(Q, k), -1)), -1); // [B, S, 2]
        const p = tf.softmax(scores);
        const c = tf.add(tf.mul(tf.slice(p, [0, 0, 0], [-1, -1, 1]), U[0]!), tf.mul(tf.slice(p, [0, 0, 1], [-1, -1, 1]), U[1]!));
        return ln(tf.add(tf.add(c, hp), x)); // c + r, then b's post LN(· + x)
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-5);
  });

  it('Fuse with value after the softmax, residual_before and query_before_ln, and the temperature schedule', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    addAdapterFusion(model, ['a', 'b'], { valueBeforeSoftmax: false, residualBefore: true, query_before_ln: true, temperature: true });
    randomize(adapterFusionParams(model, 'a,b'), 42, 0.3);
    model.setActiveAdapters(Fuse('a', 'b'));
    const expectedAt = (T: number): tf.Tensor =>
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // b's pre: residual h′; the query is h (before the LN)
        const U = [upOf(model, 'a')(hp), upOf(model, 'b')(hp)].map((u) => tf.add(u, hp)); // residual_before: U + r
        const f = (s: string): tf.Tensor => fusionParam(model, 'a,b', s);
        const Q = linear(h, f('query.weight') as tf.Tensor2D, f('query.bias') as tf.Tensor1D);
        const K = U.map((u) => linear(u, f('key.weight') as tf.Tensor2D, f('key.bias') as tf.Tensor1D));
        const p = tf.softmax(tf.div(tf.stack(K.map((k) => tf.sum(tf.mul(Q, k), -1)), -1), T));
        const c = tf.add(tf.mul(tf.slice(p, [0, 0, 0], [-1, -1, 1]), U[0]!), tf.mul(tf.slice(p, [0, 0, 1], [-1, -1, 1]), U[1]!));
        return ln(tf.add(linear(c, f('value.weight') as tf.Tensor2D), x)); // W_v after the sum, no residual added
      });
    const e1 = keep(expectedAt(50));
    const e2 = keep(expectedAt(49.95));
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), e1)).toBeLessThan(1e-5);
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), e2)).toBeLessThan(1e-5); // T dropped by 0.05
  });

  it('Fuse(Stack(a, c), b): a nested Stack contributes its last adapter\'s up-projection, computed from h′', () => {
    const { model, x, h, ln, inputs } = oneLayer();
    threeAdapters(model);
    addAdapterFusion(model, Fuse(Stack('a', 'c'), 'b'), 'static');
    expect(adapterFusionParams(model, 'c,b').length).toBe(4);
    randomize(adapterFusionParams(model, 'c,b'), 43, 0.3);
    model.setActiveAdapters(Fuse(Stack('a', 'c'), 'b'));
    const expected = keep(
      tf.tidy(() => {
        const hp = ln(tf.add(h, x)); // b (last) pre: residual h′
        const oA = tf.add(upOf(model, 'a')(ln(tf.add(hp, x))), hp); // stack: a's pre on h′ (residual = its input h′)
        const uC = upOf(model, 'c')(ln(tf.add(oA, x))); // c's pre on oA; its u
        const U = [uC, upOf(model, 'b')(hp)];
        const f = (s: string): tf.Tensor => fusionParam(model, 'c,b', s);
        const Q = linear(hp, f('query.weight') as tf.Tensor2D, f('query.bias') as tf.Tensor1D);
        const K = U.map((u) => linear(u, f('key.weight') as tf.Tensor2D, f('key.bias') as tf.Tensor1D));
        const p = tf.softmax(tf.stack(K.map((k) => tf.sum(tf.mul(Q, k), -1)), -1));
        const c = tf.add(tf.mul(tf.slice(p, [0, 0, 0], [-1, -1, 1]), U[0]!), tf.mul(tf.slice(p, [0, 0, 1], [-1, -1, 1]), U[1]!));
        return ln(tf.add(tf.add(c, hp), x));
      }),
    );
    expect(maxAbsDiff(keep(model.forward(inputs).lastHiddenState), expected)).toBeLessThan(1e-5);
  });
});

describe('validation: nesting rules, unsupported methods and missing fusions fail at setActiveAdapters', () => {
  /** A method with no block implementations, acting at ffn.output. */
  const plain = defineAdapterMethod<{ method: 'plain' }>({
    name: 'plain',
    architecture: 'plain',
    fields: {},
    defaults: {},
    hooks: ['ffn.output'],
    meta: { package: '@acme/plain', version: '0.0.0', apiVersion: 1 },
    create: () => ({ handlers: { 'ffn.output': () => (p, next) => next(p) } }),
  });

  it('rejects nestings the reference rejects', () => {
    const { model } = oneLayer();
    threeAdapters(model);
    addAdapterFusion(model, ['a', 'b']);
    expect(() => model.setActiveAdapters(Fuse(Split('a', 'b', 2), 'c'))).toThrow(/Fuse cannot contain Split/);
    expect(() => model.setActiveAdapters(Parallel(Fuse('a', 'b'), 'c'))).toThrow(/Parallel cannot contain Fuse/);
    expect(() => model.setActiveAdapters(Average([Parallel('a', 'b'), 'c']))).toThrow(/Average cannot contain Parallel/);
  });

  it('a block over a method without an implementation names the method and the block', () => {
    const { host } = createOneLayerHost();
    const model = new AdapterModel(host, { methods: [...plugins, plain] });
    owned.push(model);
    model.addAdapter('a', 'pfeiffer');
    model.addAdapter('p', { method: 'plain' });
    model.addAdapter('q', { method: 'plain' });
    expect(() => model.setActiveAdapters(BatchSplit('a', 'p', [1, 1]))).toThrow(/Method 'plain' \(@acme\/plain\) does not support the BatchSplit block at 'ffn\.output'/);
    expect(() => model.setActiveAdapters(Fuse('p', 'q'))).toThrow(/'plain' .* does not support the Fuse block/);
    expect(() => addAdapterFusion(model, ['p', 'q'])).toThrow(/AdapterFusion fuses bottleneck adapters; 'p' is a 'plain' adapter/);
    expect(model.activeAdapters).toBeUndefined();
  });

  it('Fuse without addAdapterFusion, and a fusion whose adapters do not share the location', () => {
    const { model } = oneLayer();
    threeAdapters(model);
    expect(() => model.setActiveAdapters(Fuse('a', 'b'))).toThrow(/No AdapterFusion 'a,b' in this model: call addAdapterFusion/);
    const bert = async (): Promise<void> => {
      const m = await goldenModel('bert');
      owned.push(m);
      m.addAdapter('h', 'houlsby');
      m.addAdapter('p', 'pfeiffer');
      addAdapterFusion(m, ['h', 'p']);
      expect(adapterFusionParams(m, 'h,p').every((q) => q.key.includes('.output.adapter_fusion_layer.') && !q.key.includes('attention'))).toBe(true);
      // attention.output: only h acts, and the fusion has no layer there (p lacks mh_adapter)
      expect(() => m.setActiveAdapters(Fuse('h', 'p'))).toThrow(/AdapterFusion 'h,p' has no layer at 'attention\.output' \(layer 0\)/);
      addAdapterFusion(m, ['p', 'h']);
      expect(() => m.setActiveAdapters(Fuse('p', 'h'))).toThrow(/no layer at 'attention\.output'/);
    };
    return bert();
  });
});

describe('Parallel on BERT keeps every channel equal to its single-adapter run', () => {
  it('Parallel(a, b, a): three channels', async () => {
    const model = await goldenModel('bert');
    owned.push(model);
    const inputs = goldenInputs(GOLDEN_DIR, 'bert');
    tensors.push(...(Object.values(inputs) as tf.Tensor[]));
    await model.loadAdapter(`${caseDir('bert', 'comp_parallel')}/adapters/a`);
    await model.loadAdapter(`${caseDir('bert', 'comp_parallel')}/adapters/b`);
    const runs = ['a', 'b'].map((n) => {
      model.setActiveAdapters(n);
      return keep(model.forward(inputs).lastHiddenState);
    });
    model.setActiveAdapters(Parallel('a', 'b', 'a'));
    const out = model.forward(inputs);
    keep(out.lastHiddenState);
    keep(out.poolerOutput!);
    const parts = splitParallelOutputs(out, 3);
    parts.forEach((p) => (keep(p.lastHiddenState), keep(p.poolerOutput!)));
    expect(parts.map((p) => p.poolerOutput!.shape)).toEqual([[2, 32], [2, 32], [2, 32]]);
    expect(maxAbsDiff(parts[0]!.lastHiddenState, runs[0]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(parts[1]!.lastHiddenState, runs[1]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(parts[2]!.lastHiddenState, runs[0]!)).toBeLessThan(1e-5);
  });
});

describe('GPT-2 (pre-LN, LM head)', () => {
  it('Parallel and Fuse run; channel 0 of Parallel(a, b) equals the single run, logits included', async () => {
    const model = await goldenModel('gpt2');
    owned.push(model);
    const inputs = goldenInputs(GOLDEN_DIR, 'gpt2');
    tensors.push(...(Object.values(inputs) as tf.Tensor[]));
    model.addAdapter('a', 'pfeiffer');
    model.addAdapter('b', 'pfeiffer[reduction_factor=8]');
    randomize(model.adapterParams('a'), 51);
    randomize(model.adapterParams('b'), 52);
    model.setActiveAdapters('a');
    const single = model.forward(inputs, { lmLogits: true });
    keep(single.lastHiddenState);
    keep(single.logits!);
    model.setActiveAdapters(Parallel('a', 'b'));
    const out = model.forward(inputs, { lmLogits: true });
    keep(out.lastHiddenState);
    keep(out.logits!);
    expect(out.logits!.shape).toEqual([4, 12, 512]);
    const [pa] = splitParallelOutputs(out, 2).map((p) => (keep(p.lastHiddenState), keep(p.logits!), p));
    expect(maxAbsDiff(pa!.logits!, single.logits!)).toBeLessThan(1e-4);
    addAdapterFusion(model, ['a', 'b']);
    expect(adapterFusionParams(model, 'a,b')[0]!.key).toBe('h.0.output_adapters.adapter_fusion_layer.a,b.query.weight');
    model.setActiveAdapters(Fuse('a', 'b'));
    expect(keep(model.forward(inputs).lastHiddenState).shape).toEqual([2, 12, 32]);
  });
});
