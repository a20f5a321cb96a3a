/**
 * The embedded base model `packages/bert-mini/model` (built by `pnpm pretrain:embedded`) loads with the library's
 * own loaders, has the documented shape, fits the repository's size limit, and its tokenizer matches it.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterModel } from '@adapterkit/core';
import { loadTokenizer } from '@adapterkit/data';
import { loadHost, type ModelHost } from '@adapterkit/models';
import { beforeAll, describe, expect, it } from 'vitest';

const DIR = resolve(import.meta.dirname, '../packages/bert-mini/model');

describe('embedded model packages/bert-mini/model', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('loads with loadHost and loadTokenizer, and runs a forward pass', async () => {
    const host = (await loadHost(DIR)) as ModelHost;
    const c = host.config;
    expect([c.modelType, c.numLayers, c.hiddenSize, c.numHeads, c.intermediateSize, c.vocabSize, c.maxPositionEmbeddings]).toEqual([
      'bert', 4, 256, 4, 1024, 8000, 128,
    ]);
    const params = [...host.parameters.values()].reduce((n, v) => n + v.size, 0);
    expect(params).toBe(5_240_832);

    const tokenizer = await loadTokenizer(DIR);
    expect(tokenizer.vocabSize).toBe(8000);
    expect([tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.maskTokenId]).toEqual([0, 1, 2, 3, 4]);
    const enc = tokenizer.encodeBatch(['Call me Ishmael.', 'The state of our union is strong.'], { maxLength: 128 });
    expect(enc.inputIds.every((ids) => ids[0] === 2 && ids.includes(3))).toBe(true);

    const model = new AdapterModel(host, { methods: [] });
    const inputs = enc.toTensors();
    const out = model.forward(inputs);
    expect(out.lastHiddenState.shape).toEqual([2, enc.inputIds[0]!.length, 256]);
    expect(tf.all(tf.isFinite(out.lastHiddenState)).dataSync()[0]).toBe(1);
    tf.dispose([out.lastHiddenState, out.poolerOutput ?? [], inputs.inputIds, inputs.attentionMask, inputs.tokenTypeIds]);
    model.dispose();
  });

  it('is small enough to commit (≤ 25 MB)', () => {
    expect(statSync(join(DIR, 'model.safetensors')).size).toBeLessThanOrEqual(25e6);
  });
});
