import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterKitError, AdapterModel } from '@adapterkit/core';
import { trainWordPiece } from '@adapterkit/data';
import { generate } from '@adapterkit/generate';
import { lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { addClassificationHead, addMaskedLmHead, addTaggingHead, forwardWithHeads, getHeads, saveAdapterWithHead } from '@adapterkit/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeOutputs, forwardArrays, loadEmbedded, loadPretrained, pipeline, type Pretrained } from './index';

const GOLDEN = fileURLToPath(new URL('../../../fixtures/golden/models/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pipelines-test-'));
let embedded: Pretrained;

/** Remove an adapter and its head from the shared embedded model. */
function drop(name: string): void {
  embedded.model.deleteAdapter(name);
  if (getHeads(embedded.model).has(name)) getHeads(embedded.model).delete(name);
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(AdapterKitError);
    return `${(e as AdapterKitError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected an AdapterKitError');
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  embedded = await loadEmbedded();
  // a LoRA adapter with a 3-label classification head and one with a tagging head, saved as `adapterkit train` does
  embedded.model.addAdapter('topic', 'lora[r=4,alpha=8]');
  addClassificationHead(embedded.model, 'topic', { numLabels: 3, id2label: ['sports', 'politics', 'weather'], seed: 1 });
  await saveAdapterWithHead(embedded.model, join(tmp, 'topic'), 'topic');
  embedded.model.addAdapter('pos', 'pfeiffer[reduction_factor=16]');
  addTaggingHead(embedded.model, 'pos', { numLabels: 2, id2label: ['O', 'NAME'], seed: 2 });
  await saveAdapterWithHead(embedded.model, join(tmp, 'pos'), 'pos');
  drop('topic');
  drop('pos');
}, 120_000);

afterAll(() => {
  embedded.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('loadEmbedded / loadPretrained', () => {
  it('loads the embedded model with its tokenizer; forward takes the tokenizer\'s plain arrays', () => {
    const { model, tokenizer } = embedded;
    expect(model.info.modelType).toBe('bert');
    expect(tokenizer.vocabSize).toBe(8000);
    const before = tf.memory().numTensors;
    const batch = tokenizer.encodeBatch(['the whale', 'a much longer sentence about the sea']);
    const out = model.forward(batch); // number[][] rows, no tensors made by the caller
    expect(out.lastHiddenState.shape).toEqual([2, batch.seqLength, 256]);
    disposeOutputs(out);
    const arrays = forwardArrays(model, batch);
    expect(arrays.lastHiddenState.length).toBe(2);
    expect(arrays.lastHiddenState[0]![0]!.length).toBe(256);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tells a mistyped path from a Hub id and never sends a path to the Hub', async () => {
    expect(await errorOf(loadPretrained('./models/bert-tiny'))).toMatch(/^MODEL_NOT_FOUND: .*\.\/models\/bert-tiny is not a model folder/);
    expect(await errorOf(loadPretrained('no-such-folder'))).toMatch(/^MODEL_NOT_FOUND: /);
  });
});

describe('pipeline', () => {
  it('text-classification: labels and scores of the adapter\'s head, equal to a direct forward', async () => {
    const classify = await pipeline('text-classification', { model: embedded, adapter: join(tmp, 'topic') });
    try {
      expect(classify.adapters).toEqual(['topic']);
      expect(classify.head).toBe('topic');
      const before = tf.memory().numTensors;
      const texts = ['rain and wind tomorrow', 'the match ended two to one'];
      const all = await classify(texts, { topK: Infinity });
      expect(tf.memory().numTensors).toBe(before);
      expect(all).toHaveLength(2);
      const batch = embedded.tokenizer.encodeBatch(texts, { maxLength: 128, truncation: true });
      const direct = tf.tidy(() => {
        const t = batch.toTensors();
        return tf.softmax(forwardWithHeads(embedded.model, t, { head: 'topic' }).logits).arraySync() as number[][];
      });
      for (let i = 0; i < 2; i++) {
        expect(all[i]!.map((x) => x.label).sort()).toEqual(['politics', 'sports', 'weather']);
        expect(all[i]!.reduce((s, x) => s + x.score, 0)).toBeCloseTo(1, 5);
        for (const { label, score } of all[i]!) expect(score).toBeCloseTo(direct[i]![['sports', 'politics', 'weather'].indexOf(label)]!, 5);
        expect(all[i]![0]!.score).toBeGreaterThanOrEqual(all[i]![1]!.score);
      }
      const one = await classify('rain and wind tomorrow');
      expect(one).toEqual([all[0]![0]]);
    } finally {
      drop('topic');
    }
  }, 60_000);

  it('token-classification: one tag per non-special token', async () => {
    const tag = await pipeline('token-classification', { model: embedded, adapter: join(tmp, 'pos') });
    try {
      const tags = await tag('ishmael went to sea');
      const enc = embedded.tokenizer.encode('ishmael went to sea');
      expect(tags.map((t) => t.word)).toEqual(enc.tokens.filter((_, j) => !enc.specialTokensMask[j]));
      for (const t of tags) {
        expect(['O', 'NAME']).toContain(t.entity);
        expect(t.score).toBeGreaterThanOrEqual(0.5);
      }
    } finally {
      drop('pos');
    }
  }, 60_000);

  it('token-classification aggregationStrategy: transformers\' grouping of the same tags; none unchanged', async () => {
    const tag = await pipeline('token-classification', { model: embedded, adapter: join(tmp, 'pos') });
    try {
      const text = 'ishmael and zorblaxian went to sea with glimfrotter';
      const tokens = await tag(text);
      expect(tokens.some((t) => t.word.startsWith('##'))).toBe(true); // the text has word pieces to merge
      expect(await tag(text, { aggregationStrategy: 'none' })).toEqual(tokens);
      const ids = embedded.tokenizer.encode(text).ids;
      const decode = (indices: readonly number[]): string => embedded.tokenizer.decode(indices.map((j) => ids[j]!), { skipSpecialTokens: false, cleanUpTokenizationSpaces: false });
      // simple: runs of equal tags ('O' / 'NAME' have no B-/I- prefix: each continues the run before it)
      const runs: (typeof tokens)[] = [];
      for (const t of tokens) {
        const last = runs[runs.length - 1];
        if (last && last[last.length - 1]!.entity === t.entity) last.push(t);
        else runs.push([t]);
      }
      const simple = await tag(text, { aggregationStrategy: 'simple', ignoreLabels: [] });
      expect(simple.map((g) => [g.entityGroup, g.indices])).toEqual(runs.map((r) => [r[0]!.entity, r.map((t) => t.index)]));
      simple.forEach((g, i) => {
        expect(g.score).toBeCloseTo(runs[i]!.reduce((sum, t) => sum + t.score, 0) / runs[i]!.length, 6);
        expect(g.word).toBe(decode(g.indices));
      });
      expect((await tag(text, { aggregationStrategy: 'simple' })).map((g) => g.entityGroup)).toEqual(simple.map((g) => g.entityGroup).filter((e) => e !== 'O'));
      // first / max / average: a word's pieces stay in one group
      for (const strategy of ['first', 'max', 'average'] as const) {
        const groups = await tag(text, { aggregationStrategy: strategy, ignoreLabels: [] });
        expect(groups.flatMap((g) => g.indices)).toEqual(tokens.map((t) => t.index));
        for (const g of groups) expect(tokens.find((t) => t.index === g.indices[0])!.word.startsWith('##'), `${strategy}: ${g.word}`).toBe(false);
      }
      const batch = await tag([text, 'the sea'], { aggregationStrategy: 'max', ignoreLabels: [] });
      expect(batch).toHaveLength(2);
      expect(batch[0]).toEqual(await tag(text, { aggregationStrategy: 'max', ignoreLabels: [] }));
      expect(await errorOf(tag(text, { aggregationStrategy: 'mean' as 'max' }))).toMatch(/^PIPELINE_OPTION: aggregationStrategy must be one of 'none', 'simple', 'first', 'max', 'average', got "mean"/);
    } finally {
      drop('pos');
    }
  }, 60_000);

  it('fill-mask: the embedded model\'s own MLM head (BertForMaskedLM checkpoint) fills masks', async () => {
    const unmask = await pipeline('fill-mask', { model: 'embedded' });
    try {
      expect(unmask.head).toBe('checkpoint_mlm');
      const [candidates] = await unmask('the president of the united [MASK] .', { topK: 5 });
      expect(candidates).toHaveLength(5);
      for (let k = 1; k < 5; k++) expect(candidates![k - 1]!.score).toBeGreaterThanOrEqual(candidates![k]!.score);
      for (const c of candidates!) expect(c.sequence).not.toContain('[MASK]');
      // the checkpoint's head was loaded: pre-trained on State of the Union addresses, it gives "states" here more
      // than 10× the uniform 1/8000 (measured 0.0030, rank 31; the weak model mostly predicts frequent words),
      // while a freshly initialised MLM head (tied to the same embeddings) gives it 4× less
      const scoreOf = async (p: typeof unmask): Promise<number> => (await p('the president of the united [MASK] .', { topK: 8000 }))[0]!.find((c) => c.tokenStr === 'states')!.score;
      const trained = await scoreOf(unmask);
      expect(trained).toBeGreaterThan(10 / 8000);
      addMaskedLmHead(unmask.model, 'fresh', { seed: 3, setActive: false });
      const fresh = await pipeline('fill-mask', { model: { model: unmask.model, tokenizer: unmask.tokenizer, source: 'embedded', dispose: () => undefined }, head: 'fresh' });
      expect(await scoreOf(fresh)).toBeLessThan(trained / 2); // measured 0.00075
      expect(await errorOf(unmask('no mask here'))).toMatch(/^PIPELINE_INPUT: fill-mask: text 0 has no \[MASK\] token/);
    } finally {
      unmask.dispose();
    }
  }, 120_000);

  it('text-generation: the same tokens as @adapterkit/generate on a decoder host with an adapter', async () => {
    const host = await loadHost(join(GOLDEN, 'gpt2'));
    const model = new AdapterModel(host, { methods: [lora] });
    model.addAdapter('lm', 'lora[r=2,alpha=4]');
    model.setActiveAdapters('lm');
    const tokenizer = trainWordPiece(['call me ishmael', 'some years ago never mind how long precisely'], { vocabSize: 200 });
    const shared: Pretrained = { model, tokenizer, source: 'test', dispose: () => model.dispose() };
    const gen = await pipeline('text-generation', { model: shared, adapter: 'lm' });
    const out = await gen('call me', { maxNewTokens: 4 });
    const ids = tokenizer.encode('call me', null, { addSpecialTokens: false }).ids;
    const direct = generate(model, [ids], { maxNewTokens: 4, padTokenId: tokenizer.padTokenId!, decode: (x) => tokenizer.decode([...x]) });
    expect(out.continuation).toBe(direct.text![0]);
    expect(out.generatedText).toBe(`call me${direct.text![0]}`);
    expect(out.finishReason).toBe('length');
    gen.dispose(); // shared: the model stays
    expect(model.adapterNames()).toEqual(['lm']);
    model.dispose();
  }, 60_000);

  it('fails early with typed errors: unknown task, no head, wrong head kind, encoder generation, unknown adapter', async () => {
    expect(await errorOf(pipeline('summarization' as 'fill-mask', { model: embedded }))).toMatch(/^PIPELINE_TASK: .*unknown task 'summarization'/);
    expect(await errorOf(pipeline('text-classification', { model: embedded }))).toMatch(/^PIPELINE_HEAD: text-classification needs a classification or multilabel_classification head/);
    expect(await errorOf(pipeline('token-classification', { model: embedded, adapter: join(tmp, 'topic') }))).toMatch(/^PIPELINE_HEAD: .*head 'topic' is classification/);
    drop('topic');
    expect(await errorOf(pipeline('text-generation', { model: embedded }))).toMatch(/^PIPELINE_HEAD: text-generation needs a decoder model/);
    expect(await errorOf(pipeline('text-classification', { model: embedded, adapter: 'nope' }))).toMatch(/^NO_SUCH_ADAPTER: nope: neither an adapter of the model/);
    const classify = await pipeline('text-classification', { model: embedded, adapter: join(tmp, 'topic') });
    expect(await errorOf(classify(42 as unknown as string))).toMatch(/^PIPELINE_INPUT: text-classification: expected a string/);
    expect(await errorOf(classify('x', { topK: 0 }))).toMatch(/^PIPELINE_OPTION: topK must be a positive integer/);
    drop('topic');
  }, 60_000);
});
