import '@tensorflow/tfjs-backend-cpu';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { prefixTuning } from '@adapterkit/prefix-tuning';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, generateStream, KVCache } from './index';

const GOLDEN = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));
const NEXT = fileURLToPath(new URL('../../../fixtures/golden-next/', import.meta.url));

const HOSTS = [
  { host: 'gpt2', dir: GOLDEN },
  { host: 'llama', dir: NEXT },
] as const;
const SETUPS = ['none', 'lora', 'prefix_tuning'] as const;
const PROMPTS = [
  [430, 58, 65, 508, 107, 491],
  [169, 321, 318],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function modelWith(host: (typeof HOSTS)[number], setup: (typeof SETUPS)[number]): Promise<AdapterModel> {
  const model = new AdapterModel(await loadHost(join(host.dir, 'models', host.host)), { methods: [lora, prefixTuning] });
  if (setup !== 'none') await model.loadAdapter(join(host.dir, 'cases', host.host, setup), { setActive: true });
  return model;
}

/** Logits of every position of `ids` (one row, no cache) and of the same positions fed one at a time through a cache. */
function fullAndIncremental(model: AdapterModel, ids: number[]): { full: tf.Tensor2D; incremental: tf.Tensor2D } {
  const S = ids.length;
  const full = tf.tidy(() => {
    const out = model.forward({ inputIds: tf.tensor2d([ids], [1, S], 'int32') }, { lmLogits: true });
    return tf.reshape(out.logits!, [S, -1]) as tf.Tensor2D;
  });
  const cache = new KVCache();
  const rows: tf.Tensor2D[] = [];
  // the first three positions at once, then one at a time
  const chunks = [ids.slice(0, 3), ...ids.slice(3).map((t) => [t])];
  let seen = 0;
  for (const chunk of chunks) {
    seen += chunk.length;
    rows.push(
      tf.tidy(() => {
        const out = model.forward(
          { inputIds: tf.tensor2d([chunk], [1, chunk.length], 'int32'), attentionMask: tf.ones([1, seen], 'int32') },
          { lmLogits: true, cache },
        );
        return tf.reshape(out.logits!, [chunk.length, -1]) as tf.Tensor2D;
      }),
    );
  }
  expect(cache.length).toBe(S);
  cache.dispose();
  const incremental = tf.concat(rows, 0);
  tf.dispose(rows);
  return { full, incremental };
}

describe.each(HOSTS)('$host generation', (host) => {
  const models = new Map<string, AdapterModel>();
  afterAll(() => {
    for (const m of models.values()) m.dispose();
  });
  const get = async (setup: (typeof SETUPS)[number]): Promise<AdapterModel> => {
    if (!models.has(setup)) models.set(setup, await modelWith(host, setup));
    return models.get(setup)!;
  };

  it.each(SETUPS)('adapter %s: logits with the key/value cache equal a full forward at every position', async (setup) => {
    const model = await get(setup);
    const before = tf.memory().numTensors;
    const { full, incremental } = fullAndIncremental(model, [...PROMPTS[0]!, 7, 9, 11]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(full, incremental))).dataSync()[0]!);
    expect(d).toBeLessThan(1e-4);
    tf.dispose([full, incremental]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(SETUPS)('adapter %s: cached and recomputed generation give the same tokens (greedy and sampled), batched = alone', async (setup) => {
    const model = await get(setup);
    const before = tf.memory().numTensors;
    const cached = generate(model, PROMPTS, { maxNewTokens: 8 });
    const recomputed = generate(model, PROMPTS, { maxNewTokens: 8, useCache: false });
    expect(cached.tokens).toEqual(recomputed.tokens);
    expect(cached.tokens.map((t) => t.length)).toEqual([8, 8]);
    expect(cached.finishReasons).toEqual(['length', 'length']);
    // left padding does not change a row's continuation
    expect(generate(model, [PROMPTS[1]!], { maxNewTokens: 8 }).tokens[0]).toEqual(cached.tokens[1]);
    const sampling = { maxNewTokens: 8, doSample: true, temperature: 1.5, topK: 40, topP: 0.9, repetitionPenalty: 1.3, seed: 7 };
    const s1 = generate(model, PROMPTS, sampling);
    expect(generate(model, PROMPTS, { ...sampling, useCache: false }).tokens).toEqual(s1.tokens);
    expect(s1.tokens).not.toEqual(cached.tokens);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('generation options', () => {
  let model: AdapterModel;
  beforeAll(async () => {
    model = await modelWith(HOSTS[1], 'lora');
  });
  afterAll(() => model.dispose());

  it('stops rows at stop tokens and stop strings; finished rows stop growing', () => {
    const free = generate(model, PROMPTS, { maxNewTokens: 6 }).tokens;
    const stopAt = free[0]![2]!;
    const r = generate(model, PROMPTS, { maxNewTokens: 6, stopTokens: [stopAt] });
    expect(r.tokens[0]).toEqual(free[0]!.slice(0, free[0]!.indexOf(stopAt) + 1));
    expect(r.finishReasons[0]).toBe('stop_token');
    const decode = (ids: readonly number[]): string => ids.map((t) => `<${t}>`).join('');
    const s = generate(model, PROMPTS, { maxNewTokens: 6, stopStrings: [`<${free[1]![1]}>`], decode });
    expect(s.tokens[1]).toEqual(free[1]!.slice(0, free[1]!.indexOf(free[1]![1]!) + 1));
    expect(s.finishReasons[1]).toBe('stop_string');
    expect(s.text![1]).toBe(decode(s.tokens[1]!));
  });

  it('streams the same tokens through the callback and the async iterator', async () => {
    const seen: Array<Array<number | undefined>> = [];
    const r = generate(model, PROMPTS, { maxNewTokens: 4, onToken: (e) => seen.push([...e.tokens]) });
    const streamed: Array<Array<number | undefined>> = [];
    const it = generateStream(model, PROMPTS, { maxNewTokens: 4 });
    let next = await it.next();
    while (!next.done) {
      streamed.push([...next.value.tokens]);
      next = await it.next();
    }
    expect(streamed).toEqual(seen);
    expect(next.value.tokens).toEqual(r.tokens);
    expect(seen.map((s) => s[0])).toEqual(r.tokens[0]);
  });

  it('rejects bad options and encoder hosts before any work', async () => {
    expect(() => generate(model, [[1, 2]], { topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => generate(model, [[1, 99999]])).toThrow(/prompt 0 position 1: token id 99999 is outside the vocabulary \[0, 512\)/);
    expect(() => generate(model, [[1]], { stopStrings: ['x'] })).toThrow(/stopStrings need a decode function/);
    const bert = new AdapterModel(await loadHost(join(GOLDEN, 'models', 'bert')), { methods: [] });
    expect(() => generate(bert, [[1, 2]])).toThrow(/needs a decoder host/);
    bert.dispose();
  });
});
