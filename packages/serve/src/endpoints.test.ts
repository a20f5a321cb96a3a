import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { loadTokenizer } from '@adapterkit/data';
import { generate } from '@adapterkit/generate';
import { loadHost } from '@adapterkit/models';
import { addClassificationHead, forwardWithHeads, saveAdapterWithHead } from '@adapterkit/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, REPO, start } from './test-support';

const EMBEDDED = join(REPO, 'packages', 'bert-mini', 'model');
const GPT2 = join(REPO, 'fixtures', 'golden', 'models', 'gpt2');
const TEXTS = ['the meeting is moved to friday', 'win a free cruise now', 'hello'];

describe('/v1/classify', () => {
  let trained: AdapterModel;
  let dir: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    trained = new AdapterModel(await loadHost(EMBEDDED), { methods: METHODS });
    dir = mkdtempSync(join(tmpdir(), 'adapterkit-serve-cls-'));
    trained.addAdapter('topic', 'lora');
    addClassificationHead(trained, 'topic', { numLabels: 3, id2label: ['ham', 'spam', 'other'], seed: 3 });
    await saveAdapterWithHead(trained, join(dir, 'topic'), 'topic');
    trained.addAdapter('mood', 'pfeiffer');
    addClassificationHead(trained, 'mood', { numLabels: 2, id2label: ['sad', 'glad'], seed: 4 });
    await saveAdapterWithHead(trained, join(dir, 'mood'), 'mood');
  });
  afterAll(() => trained.dispose());

  it('returns the labels and probabilities of the adapter head, as the library computes them', async () => {
    const tok = await loadTokenizer(EMBEDDED);
    const model = new AdapterModel(await loadHost(EMBEDDED), { methods: METHODS });
    const s = await start({ model, adaptersDir: dir, modelDir: EMBEDDED, batchWindowMs: 30 });
    try {
      const [a, b] = await Promise.all([s.request('/v1/classify', { adapter: 'topic', inputs: TEXTS }), s.request('/v1/classify', { adapter: 'mood', inputs: TEXTS.slice(0, 2) })]);
      expect(a.status, a.text).toBe(200);
      expect(b.status, b.text).toBe(200);
      for (const [answer, name, labels] of [[a, 'topic', ['ham', 'spam', 'other']], [b, 'mood', ['sad', 'glad']]] as const) {
        const texts = TEXTS.slice(0, answer.json.results.length);
        trained.setActiveAdapters(name);
        texts.forEach((text, i) => {
          const e = tok.encode(text);
          const want = tf.tidy(() => {
            const t = (v: number[]): tf.Tensor2D => tf.tensor2d([v], [1, v.length], 'int32');
            return (tf.softmax(forwardWithHeads(trained, { inputIds: t(e.ids), tokenTypeIds: t(e.tokenTypeIds) }, { head: name }).logits).arraySync() as number[][])[0]!;
          });
          const got = answer.json.results[i];
          expect(Object.keys(got.probabilities)).toEqual(labels);
          labels.forEach((l, j) => expect(Math.abs(got.probabilities[l] - want[j]!)).toBeLessThan(1e-4));
          const best = want.indexOf(Math.max(...want));
          expect(got.label).toBe(labels[best]);
          expect(Math.abs(got.score - want[best]!)).toBeLessThan(1e-4);
        });
      }
      const bad = await s.request('/v1/classify', { adapter: 'topic', inputs: ['ok', 5] });
      expect([bad.status, bad.json.error.field]).toEqual([400, 'inputs[1]']);
    } finally {
      await s.stop();
      model.dispose();
    }
  });
});

describe('/v1/generate', () => {
  it('streams the tokens the library generates with the adapter (server-sent events)', async () => {
    await tf.setBackend('cpu');
    const model = new AdapterModel(await loadHost(GPT2), { methods: METHODS });
    const ref = new AdapterModel(await loadHost(GPT2), { methods: METHODS });
    const cases = join(REPO, 'fixtures', 'golden', 'cases', 'gpt2');
    await ref.loadAdapter(join(cases, 'lora'), { loadAs: 'lora' });
    ref.setActiveAdapters('lora');
    const prompt = [46, 208, 75, 218];
    const want = generate(ref, [prompt], { maxNewTokens: 5 }).tokens[0]!;
    // the golden folder also holds a static head_config.json (which the server refuses, 422): serve the adapter alone
    const dir = mkdtempSync(join(tmpdir(), 'adapterkit-serve-gen-'));
    mkdirSync(join(dir, 'lora'));
    for (const f of ['adapter_config.json', 'adapter.safetensors']) copyFileSync(join(cases, 'lora', f), join(dir, 'lora', f));
    const s = await start({ model, adaptersDir: dir });
    try {
      const res = await fetch(`${s.url}/v1/generate`, { method: 'POST', body: JSON.stringify({ adapter: 'lora', prompt_ids: prompt, max_new_tokens: 5 }) });
      expect(res.status, res.status === 200 ? "" : await res.clone().text()).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
      expect(events.slice(0, -1).map((e) => e.token)).toEqual(want);
      expect(events.at(-1)).toMatchObject({ done: true, finish_reason: 'length', tokens: want });
      const plain = await s.request('/v1/generate', { adapter: 'lora', prompt_ids: prompt, max_new_tokens: 5, stream: false });
      expect(plain.json.tokens).toEqual(want);
      const bad = await s.request('/v1/generate', { adapter: 'lora', prompt_ids: prompt, max_new_tokens: 0 });
      expect([bad.status, bad.json.error.field]).toEqual([400, 'max_new_tokens']);
    } finally {
      await s.stop();
      model.dispose();
      ref.dispose();
    }
  });
});
