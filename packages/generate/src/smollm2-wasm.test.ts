import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { initBackend } from '@adapterkit/backends';
import { lora } from '@adapterkit/lora';
import { initHost } from '@adapterkit/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from './index';

/** SmolLM2-135M's shape (HuggingFaceTB/SmolLM2-135M config.json); random weights, since no checkpoint is available offline. */
const SMOLLM2_135M = {
  model_type: 'llama',
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  intermediate_size: 1536,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
};

/** Wasm32's heap limit. */
const WASM_HEAP = 4 * 1024 ** 3;

describe('SmolLM2-135M shape on wasm (random weights)', () => {
  let model: AdapterModel;
  beforeAll(async () => {
    const info = await initBackend('wasm', { threads: 1 });
    expect(info.name).toBe('wasm');
    model = new AdapterModel(initHost(SMOLLM2_135M, 1), { methods: [lora] });
  });
  afterAll(() => model?.dispose());

  it('has the shape: 30 layers, hidden 576, 9 heads, 3 KV heads, FFN 1536, vocab 49152, ~134.5 M parameters', () => {
    const i = model.info;
    expect([i.numLayers, i.hiddenSize, i.numHeads, i.numKeyValueHeads, i.headDim, i.intermediateSize, i.vocabSize]).toEqual([30, 576, 9, 3, 64, 1536, 49152]);
    expect(i.numParameters).toBe(134_515_008);
  });

  it('runs one LoRA training step (the loss on the batch goes down) and 16 generated tokens within the wasm heap', () => {
    model.addAdapter('lora', 'lora[r=8,alpha=16,attn_matrices=["q","v"]]');
    model.trainAdapter('lora');
    const ids = [[1, 523, 9812, 77, 4410, 31002, 18, 640, 2901, 12, 48000, 7]];
    const S = ids[0]!.length;
    const lossOf = (): tf.Scalar => {
      const inputIds = tf.tensor2d(ids, [1, S], 'int32');
      const logits = model.forward({ inputIds }, { lmLogits: true, training: true }).logits!;
      const V = logits.shape[2];
      const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [1, S - 1, V]), [S - 1, V]);
      const target = tf.oneHot(tf.tensor1d(ids[0]!.slice(1), 'int32'), V);
      return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(pred)), 1))) as tf.Scalar;
    };
    const vars = model.trainableVariables();
    expect(vars.reduce((n, v) => n + v.size, 0)).toBe(30 * 2 * (8 * 576 + 576 * 8) - 30 * (576 * 8 - 192 * 8));
    let peak = 0;
    const before = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossOf, vars);
      peak = Math.max(peak, tf.memory().numBytes);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.05)));
      return value.dataSync()[0]!;
    });
    expect(Number.isFinite(before)).toBe(true);
    const after = tf.tidy(() => lossOf().dataSync()[0]!);
    expect(after).toBeLessThan(before);

    model.setActiveAdapters('lora');
    const tensors = tf.memory().numTensors;
    const r = generate(model, [ids[0]!.slice(0, 6)], { maxNewTokens: 16, onToken: () => (peak = Math.max(peak, tf.memory().numBytes)) });
    expect(r.tokens[0]).toHaveLength(16);
    expect(r.tokens[0]!.every((t) => Number.isInteger(t) && t >= 0 && t < 49152)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(peak).toBeLessThan(WASM_HEAP);
  });
});
