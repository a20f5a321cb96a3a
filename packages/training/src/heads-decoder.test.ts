import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { addCausalLmHead, forwardWithHeads } from './index';

const NEXT = fileURLToPath(new URL('../../../fixtures/golden-next/', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('causal-LM head on a Llama host with an untied lm_head', () => {
  it('projects with the host’s lm_head (not the input embeddings), as the reference’s converted static head', async () => {
    const model = new AdapterModel(await loadHost(join(NEXT, 'models', 'llama')), { methods: [] });
    expect(model.host.lmHeadWeight).toBe(model.host.parameters.get('lm_head.weight'));
    expect(model.host.lmHeadWeight).not.toBe(model.host.wordEmbeddings);
    const head = addCausalLmHead(model, 'lm');
    expect(head.config.layers).toBe(1);
    const inputs = { inputIds: tf.tensor2d([[430, 58, 65, 508]], [1, 4], 'int32') };
    const d = tf.tidy(() => {
      const ours = forwardWithHeads(model, inputs).logits;
      const host = model.forward(inputs, { lmLogits: true }).logits!;
      return tf.max(tf.abs(tf.sub(ours, host))).dataSync()[0]!;
    });
    expect(d).toBeLessThan(1e-5);
    inputs.inputIds.dispose();
    model.dispose();
  });
});
