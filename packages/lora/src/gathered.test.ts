import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BatchSplit, Parallel, type AdapterModel, type ModelInputs, type SetupNode } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatheredUpdate } from './gathered';
import { LoRAInstance } from './instance';
import type { LoRAModule } from './module';
import { buildModel, disposeAll, GOLDEN, randomize, run, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** LoRA adapters that differ in rank, alpha, wrapped layers (so some rows have no module at some sites) and mode. */
const ADAPTERS: Record<string, string> = {
  qv: 'lora[r=2, alpha=4]',
  qkv: 'lora[r=4, alpha=2, attn_matrices=["q","k","v"], intermediate_lora=True, output_lora=True]',
  ffn: 'lora[r=3, alpha=3, selfattn_lora=False, intermediate_lora=True]',
  rs: 'lora[r=8, alpha=8, use_rslora=True]',
  i1: 'ia3',
  i2: 'ia3[alpha=2]',
  gated: 'lora[r=2, use_gating=True]',
};

/** Rows `[start, start + size)` of a model output (hidden states; logits on GPT-2). */
function outputRows(model: AdapterModel, inputs: ModelInputs, setup: SetupNode | null, start: number, size: number): tf.Tensor {
  model.setActiveAdapters(setup);
  return tf.tidy(() => {
    const out = run(model, inputs);
    const t = model.info.modelType === 'gpt2' ? out.logits! : out.lastHiddenState;
    return tf.slice(t, [start, 0, 0], [size, -1, -1]);
  });
}

/** `n` copies of the golden batch's first row (so every BatchSplit child has a row to compare with). */
function repeatRows(inputs: ModelInputs, n: number): ModelInputs {
  const rows = (t: tf.Tensor2D): tf.Tensor2D => tf.tile(tf.slice(t, [0, 0], [1, -1]), [n, 1]);
  return {
    inputIds: rows(inputs.inputIds as tf.Tensor2D),
    ...(inputs.attentionMask ? { attentionMask: rows(inputs.attentionMask as tf.Tensor2D) } : {}),
  };
}

/** Number of kernels one inference forward runs under `setup`. */
async function kernelsOf(model: AdapterModel, inputs: ModelInputs, setup: SetupNode): Promise<number> {
  model.setActiveAdapters(setup);
  const info = await tf.profile(() => {
    const out = run(model, inputs);
    disposeAll(out);
  });
  return info.kernels.length;
}

describe.each(['bert', 'gpt2'] as GoldenModel[])('gathered per-row LoRA (BGMV) on %s', (m) => {
  let model: AdapterModel;
  let golden: ModelInputs;
  beforeAll(async () => {
    model = await buildModel(m);
    Object.entries(ADAPTERS).forEach(([name, config], i) => {
      model.addAdapter(name, config);
      randomize(model, name, 10 + i);
    });
    golden = goldenInputs(GOLDEN, m);
  });
  afterAll(() => {
    disposeAll(golden);
    model.dispose();
  });

  it.each([
    ['LoRA adapters of different ranks, alphas and sites', ['qv', 'qkv', 'ffn', 'rs']],
    ['(IA)³ adapters of different alphas', ['i1', 'i2']],
    ['LoRA and (IA)³ mixed (routed per child)', ['qv', 'i1', 'qkv']],
    ['a gated LoRA among plain ones (routed per child)', ['gated', 'qv']],
  ])('BatchSplit of %s: every row equals its adapter alone, tensors flat', (_, names) => {
    const sizes = names.map((_n, i) => 1 + (i % 2));
    const inputs = repeatRows(golden, sizes.reduce((a, b) => a + b, 0));
    const alone = names.map((n) => outputRows(model, inputs, n, 0, 1));
    const before = tf.memory().numTensors;
    const mixed = outputRows(model, inputs, BatchSplit(...names, sizes), 0, inputs.inputIds.shape[0]);
    let start = 0;
    names.forEach((n, i) => {
      for (let k = 0; k < sizes[i]!; k++) {
        const row = tf.slice(mixed, [start + k, 0, 0], [1, -1, -1]);
        expect(maxAbsDiff(row, alone[i]!), `${n}, row ${start + k}`).toBeLessThan(1e-5);
        row.dispose();
      }
      start += sizes[i]!;
    });
    expect(tf.memory().numTensors).toBe(before + 1);
    // the adapters change the output, so the comparison can fail
    const bare = outputRows(model, inputs, null, 0, 1);
    for (const a of alone) expect(maxAbsDiff(a, bare)).toBeGreaterThan(1e-4);
    tf.dispose([mixed, bare, ...alone]);
    disposeAll(inputs);
  });

  it('Parallel of plain LoRA adapters: each channel equals its adapter alone', () => {
    const p = outputRows(model, golden, Parallel('qv', 'rs'), 0, 2 * golden.inputIds.shape[0]);
    const b = golden.inputIds.shape[0];
    ['qv', 'rs'].forEach((n, i) => {
      const want = outputRows(model, golden, n, 0, b);
      const got = tf.slice(p, [i * b, 0, 0], [b, -1, -1]);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      tf.dispose([want, got]);
    });
    p.dispose();
  });

  it('the number of kernels of a forward does not grow with the number of LoRA children', async () => {
    const inputs = repeatRows(golden, 4);
    const two = await kernelsOf(model, inputs, BatchSplit('qv', 'rs', [2, 2]));
    const four = await kernelsOf(model, inputs, BatchSplit('qv', 'rs', 'qkv', 'ffn', [1, 1, 1, 1]));
    const fourQv = await kernelsOf(model, inputs, BatchSplit('qv', 'rs', 'qv', 'rs', [1, 1, 1, 1]));
    expect(fourQv).toBe(two);
    // per-child routing (LoRA and (IA)³ mixed) costs kernels per child
    const routed = await kernelsOf(model, inputs, BatchSplit('qv', 'i1', 'rs', 'i2', [1, 1, 1, 1]));
    expect(routed).toBeGreaterThan(four);
    disposeAll(inputs);
  });
});

describe('gatheredUpdate', () => {
  it('equals each module applied to its own rows, and refuses modules it cannot gather', async () => {
    const model = await buildModel('bert');
    for (const [name, config] of Object.entries(ADAPTERS)) model.addAdapter(name, config);
    Object.keys(ADAPTERS).forEach((n, i) => randomize(model, n, 30 + i));
    const moduleOf = (name: string, site: string): LoRAModule | undefined => {
      const instance = model.requireAdapter(name).members[0]!.instance as LoRAInstance;
      expect(instance).toBeInstanceOf(LoRAInstance);
      return instance.moduleAt('attention.projection', 0, site);
    };
    const [inDim, outDim] = [model.info.hiddenSize, model.info.hiddenSize];
    const x = tf.randomNormal([5, 3, inDim], 0, 1, 'float32', 1) as tf.Tensor3D;
    const y = tf.randomNormal([5, 3, outDim], 0, 1, 'float32', 2) as tf.Tensor3D;
    const sizes = [2, 1, 2];
    const check = (modules: Array<LoRAModule | undefined>): void => {
      const before = tf.memory().numTensors;
      const got = gatheredUpdate(modules, sizes, x, y)!;
      expect(got.shape).toEqual(y.shape);
      let start = 0;
      modules.forEach((mod, i) => {
        const diff = tf.tidy(() => {
          const [xs, ys, gs] = [x, y, got].map((t) => tf.slice(t, [start, 0, 0], [sizes[i]!, -1, -1])) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
          return maxAbsDiff(gs, mod ? mod.apply(xs, ys, undefined) : ys);
        });
        expect(diff, `child ${i}`).toBeLessThan(1e-5);
        start += sizes[i]!;
      });
      got.dispose();
      expect(tf.memory().numTensors).toBe(before);
    };
    check([moduleOf('qv', 'query'), moduleOf('qkv', 'query'), moduleOf('rs', 'query')]);
    check([moduleOf('qkv', 'key'), moduleOf('qv', 'key'), moduleOf('qkv', 'key')]); // qv has no key module
    check([moduleOf('i1', 'value'), moduleOf('i2', 'value'), moduleOf('i1', 'value')]);
    expect(gatheredUpdate([undefined, undefined, undefined], sizes, x, y)).toBe(y);
    expect(gatheredUpdate([moduleOf('qv', 'query'), moduleOf('i1', 'value'), undefined], sizes, x, y)).toBeUndefined();
    expect(gatheredUpdate([moduleOf('gated', 'query'), moduleOf('qv', 'query'), undefined], sizes, x, y)).toBeUndefined();
    tf.dispose([x, y]);
    model.dispose();
  });
});
