import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NO_HOOKS } from './core';
import { createHost, loadHost } from './index';
import { disposeInputs, disposeOutputs, tidyForward, goldenInputs, goldenOutputs, maxAbsDiff, modelDir, readTensors, type GoldenModel } from './test-helpers';
import { join } from 'node:path';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CASES: Array<{ model: GoldenModel; outputs: Array<[string, 'lastHiddenState' | 'poolerOutput' | 'logits']> }> = [
  { model: 'bert', outputs: [['last_hidden_state', 'lastHiddenState'], ['pooler_output', 'poolerOutput']] },
  { model: 'roberta', outputs: [['last_hidden_state', 'lastHiddenState'], ['pooler_output', 'poolerOutput']] },
  { model: 'gpt2', outputs: [['last_hidden_state', 'lastHiddenState'], ['logits', 'logits']] },
];

describe.each(CASES)('$model matches transformers 4.26.1', ({ model, outputs }) => {
  it('base outputs within 1e-4', async () => {
    const host = await loadHost(modelDir(model));
    const inputs = await goldenInputs(model);
    const ref = await goldenOutputs(model);
    const out = tidyForward(host, inputs, NO_HOOKS, { training: false, lmLogits: model === 'gpt2' });
    for (const [refKey, ourKey] of outputs) {
      const ours = out[ourKey];
      expect(ours, ourKey).toBeDefined();
      const d = maxAbsDiff(ours!, ref.get(refKey)!);
      expect(d, `${model} ${refKey} max abs diff`).toBeLessThanOrEqual(TOL);
    }
    disposeOutputs(out);
    for (const t of ref.values()) t.dispose();
    disposeInputs(inputs);
    host.dispose();
  });

  it('reports info and parameters consistently', async () => {
    const host = await loadHost(modelDir(model));
    const file = await readTensors(join(modelDir(model), 'model.safetensors'));
    expect(new Set(host.parameters.keys())).toEqual(new Set(file.keys()));
    let total = 0;
    for (const t of file.values()) total += t.size;
    expect(host.info.numParameters).toBe(total);
    expect(host.notes).toEqual([]);
    expect(host.wordEmbeddings).toBe(host.parameters.get(model === 'gpt2' ? 'wte.weight' : 'embeddings.word_embeddings.weight'));
    for (const v of host.parameters.values()) expect(v.trainable).toBe(true);
    // linear weights are transposed in memory, Conv1D / embeddings are not
    for (const [name, v] of host.parameters) {
      const f = file.get(name)!;
      const expectShape = host.transposed.has(name) ? [...f.shape].reverse() : f.shape;
      expect(v.shape, name).toEqual(expectShape);
    }
    if (model === 'gpt2') expect(host.transposed.size).toBe(0);
    else expect(host.transposed.has('encoder.layer.0.attention.self.query.weight')).toBe(true);
    // exportWeights gives back the file exactly
    const exported = host.exportWeights();
    for (const [name, t] of exported) {
      expect(t.shape, name).toEqual(file.get(name)!.shape);
      expect(maxAbsDiff(t, file.get(name)!), name).toBe(0);
    }
    // and a host built from the exported map computes the same thing
    const again = createHost(host.config, exported);
    const inputs = await goldenInputs(model);
    const a = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    const b = tf.tidy(() => again.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose([a, b, ...exported.values(), ...file.values()]);
    disposeInputs(inputs);
    again.dispose();
    host.dispose();
  });
});
