import '@tensorflow/tfjs-backend-cpu';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_HOOKS, WeightsMismatchError, FileFormatError } from './core';
import { writeSafetensors } from '@adapterkit/core';
import { createHost, expectedWeights, initHost, loadHost, maxSequenceLength, parseConfig, positionOffset, readConfig, type WeightsMismatchDetails } from './index';
import { disposeInputs, disposeOutputs, tidyForward, goldenInputs, maxAbsDiff, modelDir, readTensors } from './test-helpers';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'adapterkit-models-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('config', () => {
  it('parses the three golden configs', async () => {
    const bert = await readConfig(join(modelDir('bert'), 'config.json'));
    expect(bert).toMatchObject({
      modelType: 'bert',
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 64,
      hiddenAct: 'gelu',
      layerNormEps: 1e-12,
      maxPositionEmbeddings: 64,
      typeVocabSize: 2,
      vocabSize: 512,
      padTokenId: 0,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      embeddingDropout: 0.1,
    });
    const roberta = await readConfig(join(modelDir('roberta'), 'config.json'));
    expect(roberta).toMatchObject({ modelType: 'roberta', padTokenId: 1 });
    const gpt2 = await readConfig(join(modelDir('gpt2'), 'config.json'));
    expect(gpt2).toMatchObject({
      modelType: 'gpt2',
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 128, // n_inner null → 4·n_embd
      hiddenAct: 'gelu_new',
      layerNormEps: 1e-5,
      maxPositionEmbeddings: 64,
      typeVocabSize: 0,
      vocabSize: 512,
      padTokenId: null,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      embeddingDropout: 0.1,
    });
    expect(parseConfig({ model_type: 'xlm-roberta', hidden_size: 16, num_attention_heads: 2 }).modelType).toBe('xlm-roberta');
  });

  it('rejects an unknown model_type naming the file and the supported types', () => {
    let err: unknown;
    try {
      parseConfig({ model_type: 't5' }, '/x/config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as Error).message).toContain('/x/config.json');
    expect((err as Error).message).toContain('t5');
    for (const t of ['bert', 'roberta', 'xlm-roberta', 'gpt2']) expect((err as Error).message).toContain(t);
  });

  it('rejects invalid fields', () => {
    expect(() => parseConfig({ model_type: 'bert', hidden_size: 30, num_attention_heads: 4 })).toThrow(FileFormatError);
    expect(() => parseConfig({ model_type: 'bert', hidden_act: 'nope' })).toThrow(/hidden_act/);
    expect(() => parseConfig({ model_type: 'bert', position_embedding_type: 'relative_key' })).toThrow(/position_embedding_type/);
  });
});

describe('weights validation', () => {
  it('one WeightsMismatchError lists the missing, unexpected and mis-shaped weights', async () => {
    const cfg = await readConfig(join(modelDir('bert'), 'config.json'));
    const weights = await readTensors(join(modelDir('bert'), 'model.safetensors'));
    const missing = 'encoder.layer.1.attention.self.key.bias';
    weights.get(missing)!.dispose();
    weights.delete(missing);
    const extra = tf.zeros([3]);
    weights.set('encoder.layer.0.attention.self.foo.weight', extra);
    const wrong = 'encoder.layer.0.intermediate.dense.weight';
    const old = weights.get(wrong)!;
    weights.set(wrong, tf.zeros([32, 64]));
    old.dispose();
    let err: unknown;
    const numTensors = tf.memory().numTensors;
    try {
      createHost(cfg, weights);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightsMismatchError);
    const msg = (err as Error).message;
    expect(msg).toContain(missing);
    expect(msg).toContain('encoder.layer.0.attention.self.foo.weight');
    expect(msg).toContain(`${wrong}: expected [64, 32], got [32, 64]`);
    const details = (err as { details: WeightsMismatchDetails }).details;
    expect(details.missing).toEqual([missing]);
    expect(details.unexpected).toEqual(['encoder.layer.0.attention.self.foo.weight']);
    expect(details.mismatched.map((m) => m.name)).toEqual([wrong]);
    // nothing was allocated
    expect(tf.memory().numTensors).toBe(numTensors);
    tf.dispose([...weights.values()]);
  });

  it('loadHost names the file and fails before allocating', async () => {
    const dir = join(tmp, 'bad');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await copyFile(join(modelDir('gpt2'), 'config.json'), join(dir, 'config.json'));
    const w = await readTensors(join(modelDir('gpt2'), 'model.safetensors'));
    const file: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of w) if (k !== 'ln_f.bias') file[k] = { shape: t.shape, data: t.dataSync() as Float32Array };
    file['h.0.mlp.c_fc.weight'] = { shape: [128, 32], data: file['h.0.mlp.c_fc.weight']!.data };
    file['h.0.extra'] = { shape: [1], data: new Float32Array(1) };
    await writeSafetensors(join(dir, 'model.safetensors'), file);
    tf.dispose([...w.values()]);
    const n = tf.memory().numTensors;
    const p = loadHost(dir);
    await expect(p).rejects.toThrow(WeightsMismatchError);
    await expect(p).rejects.toThrow(join(dir, 'model.safetensors'));
    await expect(p).rejects.toThrow(/ln_f\.bias[\s\S]*h\.0\.extra[\s\S]*h\.0\.mlp\.c_fc\.weight: expected \[32, 128\], got \[128, 32\]/);
    expect(tf.memory().numTensors).toBe(n);
  });

  it('accepts the base-model prefix, ignores heads and buffers with notes', async () => {
    const dir = join(tmp, 'prefixed');
    await mkdir(dir, { recursive: true });
    await copyFile(join(modelDir('bert'), 'config.json'), join(dir, 'config.json'));
    const w = await readTensors(join(modelDir('bert'), 'model.safetensors'));
    const file: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
    for (const [k, t] of w) file[`bert.${k}`] = { shape: t.shape, data: t.dataSync() as Float32Array };
    file['bert.embeddings.position_ids'] = { shape: [1, 64], data: Int32Array.from({ length: 64 }, (_, i) => i) };
    file['cls.predictions.bias'] = { shape: [512], data: new Float32Array(512) };
    file['classifier.weight'] = { shape: [3, 32], data: new Float32Array(96) };
    await writeSafetensors(join(dir, 'model.safetensors'), file);
    tf.dispose([...w.values()]);
    const host = await loadHost(dir);
    expect(host.notes.join('\n')).toMatch(/cls\.predictions\.bias/);
    expect(host.notes.join('\n')).toMatch(/classifier\.weight/);
    expect(host.notes.join('\n')).toMatch(/bert\.embeddings\.position_ids/);
    const ref = await loadHost(modelDir('bert'));
    const inputs = await goldenInputs('bert');
    const a = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).poolerOutput!);
    const b = tf.tidy(() => ref.forward(inputs, NO_HOOKS, { training: false }).poolerOutput!);
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([a, b]);
    disposeInputs(inputs);
    host.dispose();
    ref.dispose();
  });

  it('a checkpoint without pooler loads without pooler (noted)', async () => {
    const w = await readTensors(join(modelDir('roberta'), 'model.safetensors'));
    for (const k of ['pooler.dense.weight', 'pooler.dense.bias']) {
      w.get(k)!.dispose();
      w.delete(k);
    }
    const cfg = await readConfig(join(modelDir('roberta'), 'config.json'));
    const host = createHost(cfg, w);
    tf.dispose([...w.values()]);
    expect(host.info.hasPooler).toBe(false);
    expect(host.notes.join()).toMatch(/pooler/);
    const inputs = await goldenInputs('roberta');
    const out = tidyForward(host, inputs, NO_HOOKS, { training: false });
    expect(out.poolerOutput).toBeUndefined();
    out.lastHiddenState.dispose();
    disposeInputs(inputs);
    host.dispose();
  });

  it('missing config or weights file → FileFormatError', async () => {
    await expect(loadHost(join(tmp, 'nowhere'))).rejects.toThrow(FileFormatError);
    const dir = join(tmp, 'noweights');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    await expect(loadHost(dir)).rejects.toThrow(/model\.safetensors.*pytorch_model\.bin/);
  });
});

describe('initHost', () => {
  it.each(['bert', 'roberta', 'gpt2'] as const)('%s: HF-style init, deterministic per seed', async (m) => {
    const cfg = await readConfig(join(modelDir(m), 'config.json'));
    const a = initHost(cfg, 5);
    const b = initHost(cfg.raw, 5);
    const c = initHost(cfg, 6);
    expect([...a.parameters.keys()]).toEqual(expectedWeights(cfg).map((s) => s.name));
    for (const [name, v] of a.parameters) {
      expect(v.trainable).toBe(true);
      expect(maxAbsDiff(v, b.parameters.get(name)!), name).toBe(0);
      const data = v.dataSync();
      if (name.endsWith('LayerNorm.weight') || /ln_(1|2|f)\.weight$/.test(name)) expect(data.every((x) => x === 1)).toBe(true);
      else if (name.endsWith('.bias')) expect(data.every((x) => x === 0)).toBe(true);
      else {
        let s = 0;
        for (const x of data) s += x * x;
        const std = Math.sqrt(s / data.length);
        expect(std, name).toBeGreaterThan(0.015);
        expect(std, name).toBeLessThan(0.025);
        expect(maxAbsDiff(v, c.parameters.get(name)!), name).toBeGreaterThan(0);
      }
    }
    const inputs = await goldenInputs(m);
    const out = tidyForward(a, inputs, NO_HOOKS, { training: false, lmLogits: true });
    expect(Number.isFinite(tf.sum(out.lastHiddenState).dataSync()[0])).toBe(true);
    disposeOutputs(out);
    disposeInputs(inputs);
    for (const h of [a, b, c]) h.dispose();
  });
});

describe('xlm-roberta and input checks', () => {
  it('xlm-roberta shares the RoBERTa host and names', () => {
    const host = initHost({ model_type: 'xlm-roberta', hidden_size: 16, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 32, vocab_size: 40, max_position_embeddings: 20 }, 1);
    expect(host.info.modelClass).toBe('XLMRobertaModel');
    expect(host.info.baseModelPrefix).toBe('roberta');
    expect(host.info.modulePath('ffn.output', 0)).toBe('encoder.layer.0.output');
    const ids = tf.tensor2d([[0, 5, 6, 1]], undefined, 'int32');
    const out = tidyForward(host, { inputIds: ids }, NO_HOOKS, { training: false });
    expect(out.lastHiddenState.shape).toEqual([1, 4, 16]);
    expect(out.poolerOutput!.shape).toEqual([1, 16]);
    disposeOutputs(out);
    // positions start at pad + 1 = 2, so 18 tokens fit a table of 20 rows and 19 do not
    expect(positionOffset(host.config)).toBe(2);
    expect(maxSequenceLength(host.config)).toBe(18);
    expect(maxSequenceLength(parseConfig({ model_type: 'bert', max_position_embeddings: 20 }))).toBe(20);
    const long = tf.zeros([1, 18], 'int32') as tf.Tensor2D;
    const tooLong = tf.zeros([1, 19], 'int32') as tf.Tensor2D;
    disposeOutputs(tidyForward(host, { inputIds: long }, NO_HOOKS, { training: false }));
    expect(() => host.forward({ inputIds: tooLong }, NO_HOOKS, { training: false })).toThrow(/exceeds/);
    tf.dispose([ids, long, tooLong]);
    host.dispose();
    expect(() => host.forward({ inputIds: ids }, NO_HOOKS, { training: false })).toThrow(/disposed/);
  });
});
