/**
 * Invertible adapters on GPT-2 (issue 17, item 4): adapter-transformers 3.2.1 applies them to the token embeddings
 * before position embeddings are added, its static `GPT2LMHeadModel` head applies no inverse, and its flex
 * causal-LM head does. Reference cases made with the real library: `fixtures/gpt2-invertible` (golden format; the
 * generator is described in its README).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterModel, registerTrainingSupport } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { forwardWithHeads, headCompanion } from '@adapterkit/training';
import { discoverPlugins, goldenInputs, maxAbsDiff, readGoldenIndex, readTensors, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../fixtures/gpt2-invertible', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe('GPT-2 + invertible adapters match adapter-transformers 3.2.1', () => {
  it('without the LM head and with the static GPT2LMHeadModel head (no inverse): last_hidden_state and logits', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const ids = readGoldenIndex(DIR).cases.filter((c) => c.kind === 'single_adapter').map((c) => `${c.model}/${c.case}`);
    expect(ids).toEqual(['gpt2/pfeiffer_inv', 'gpt2/houlsby_inv']);
    const lines: string[] = [];
    const r = await runParity({ goldenDir: DIR, cases: ids.join(','), plugins, extras, log: (l) => lines.push(l) });
    expect(r.passed, lines.join('\n')).toBe(2);
    for (const x of r.results) expect(x.maxAbsDiff!).toBeLessThanOrEqual(1e-4);
  });

  it('with the flex causal-LM head (GPT2AdapterModel): the head applies the inverse before its tied projection', async () => {
    const { plugins } = await discoverPlugins((p) => import(p));
    const model = new AdapterModel(await loadHost(join(DIR, 'models', 'gpt2')), { methods: plugins, warn: () => undefined });
    const dir = join(DIR, 'cases', 'gpt2', 'pfeiffer_inv_flexhead');
    const name = await model.loadAdapter(dir, { companions: [headCompanion], setActive: true });
    const inputs = goldenInputs(DIR, 'gpt2');
    const ref = await readTensors(join(dir, 'output.safetensors'));
    const n = tf.memory().numTensors;
    const res = forwardWithHeads(model, inputs, { head: name });
    const dLogits = maxAbsDiff(res.logits, ref.get('logits')!);
    const dHidden = maxAbsDiff(res.outputs.lastHiddenState, ref.get('last_hidden_state')!);
    console.log(`gpt2/pfeiffer_inv_flexhead logits ${dLogits.toExponential(2)} last_hidden_state ${dHidden.toExponential(2)}`);
    expect(dLogits).toBeLessThanOrEqual(1e-4);
    expect(dHidden).toBeLessThanOrEqual(1e-4);
    // the static head on the same weights differs: the inverse matters
    const staticLogits = model.forward(inputs, { lmLogits: true }).logits!;
    expect(maxAbsDiff(staticLogits, ref.get('logits')!)).toBeGreaterThan(1e-3);
    tf.dispose([res.logits, res.outputs.lastHiddenState, staticLogits, ...res.heads.flatMap((h) => [h.logits])]);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(n + 1);
    model.dispose();
  });
});
