import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../test-helpers';
import {
  causalLmCollator,
  classificationCollator,
  IGNORE_INDEX,
  LabelMap,
  loadTokenizer,
  maskedLmCollator,
  toTrainingExamples,
  type Tokenizer,
} from '../index';
import { producesTokenTypeIds } from '../tokenizer/post-process';
import type { PostProcessorJson } from '../tokenizer/schema';

let bert: Tokenizer;
let gpt2: Tokenizer;
beforeAll(async () => {
  await tf.setBackend('cpu');
  bert = await loadTokenizer(join(FIXTURES, 'bert-vocab'));
  gpt2 = await loadTokenizer(join(FIXTURES, 'gpt2-tiny'));
});

describe('classificationCollator', () => {
  it('pads to the longest example of the batch and maps labels to int32 ids', async () => {
    const collate = classificationCollator(bert, { labelMap: new LabelMap(['neg', 'pos']) });
    const b = collate([
      { text: 'the lazy dog', label: 'neg' },
      { text: 'the quick brown fox', textPair: 'is running', label: 'pos' },
    ]);
    expect(b.inputIds).toEqual([
      [2, 10, 18, 19, 3, 0, 0, 0, 0, 0],
      [2, 10, 11, 12, 13, 3, 23, 25, 26, 3],
    ]);
    expect(b.attentionMask[0]).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(b.tokenTypeIds[1]).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(b.labels).toEqual([0, 1]);
    const before = tf.memory().numTensors;
    const t = b.toTensors();
    expect([t.inputs.inputIds.shape, t.inputs.inputIds.dtype, t.labels.shape, t.labels.dtype]).toEqual([[2, 10], 'int32', [2], 'int32']);
    expect(await t.inputs.attentionMask.array()).toEqual(b.attentionMask);
    tf.dispose([t.inputs.inputIds, t.inputs.attentionMask, t.inputs.tokenTypeIds, t.labels]);
    expect(tf.memory().numTensors).toBe(before);
    // A shorter batch pads less (dynamic padding); maxLength truncates.
    expect(collate([{ text: 'dog', label: 'neg' }]).inputIds).toEqual([[2, 19, 3]]);
    expect(classificationCollator(bert, { maxLength: 4 })([{ text: 'the quick brown fox', label: 1 }]).inputIds).toEqual([[2, 10, 11, 3]]);
  });

  it('rejects labels it cannot map', () => {
    expect(() => classificationCollator(bert)([{ text: 'dog', label: 'neg' }])).toThrow(/not a class id; pass a labelMap/);
    expect(() => classificationCollator(bert)([{ text: 'dog' }])).toThrow(/example 0 has no label/);
    expect(() => classificationCollator(bert, { labelMap: new LabelMap(['a']) })([{ text: 'dog', label: 'b' }])).toThrow(/unknown label "b"/);
    expect(() => classificationCollator(bert)([])).toThrow(/at least one example/);
  });

  it('tokenizes for the training harness', () => {
    const ex = toTrainingExamples(bert, [{ text: 'the dog', label: 'pos' }, { text: 'a fox' }], { labelMap: new LabelMap(['neg', 'pos']) });
    expect(ex).toEqual([
      { inputIds: [2, 10, 19, 3], attentionMask: [1, 1, 1, 1], tokenTypeIds: [0, 0, 0, 0], labels: 1 },
      { inputIds: [2, 9, 13, 3], attentionMask: [1, 1, 1, 1], tokenTypeIds: [0, 0, 0, 0] },
    ]);
  });

  it('emits token type ids only where the post-processor gives them a meaning, unless told otherwise', () => {
    // BERT (TemplateProcessing with type id 1 for the second text): on by default
    expect(bert.returnsTokenTypeIds).toBe(true);
    expect(toTrainingExamples(bert, [{ text: 'the dog', textPair: 'a fox' }])[0]!.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(toTrainingExamples(bert, [{ text: 'the dog' }], { tokenTypeIds: false })[0]).toEqual({ inputIds: [2, 10, 19, 3], attentionMask: [1, 1, 1, 1] });
    // GPT-2 (ByteLevel post-processor): off by default, so a GPT-2 host adds no wte[tokenTypeIds]
    expect(gpt2.returnsTokenTypeIds).toBe(false);
    const [g] = toTrainingExamples(gpt2, [{ text: 'Hello world', label: 0 }]);
    expect(g).toEqual({ inputIds: gpt2.encode('Hello world').ids, attentionMask: [1, 1, 1, 1], labels: 0 });
    expect(toTrainingExamples(gpt2, [{ text: 'Hello world' }], { tokenTypeIds: true })[0]!.tokenTypeIds).toEqual([0, 0, 0, 0]);
  });

  it('decides from the post-processor type: BertProcessing yes; RobertaProcessing, ByteLevel, none and all-zero templates no', () => {
    const pieces = (typeB: number) => [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A' as const, type_id: 0 } }, { Sequence: { id: 'B' as const, type_id: typeB } }];
    const template = (typeB: number): PostProcessorJson => ({ type: 'TemplateProcessing', single: pieces(0).slice(0, 2), pair: pieces(typeB), special_tokens: {} });
    expect(producesTokenTypeIds({ type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] })).toBe(true);
    expect(producesTokenTypeIds(template(1))).toBe(true);
    expect(producesTokenTypeIds(template(0))).toBe(false);
    expect(producesTokenTypeIds({ type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false })).toBe(false);
    expect(producesTokenTypeIds({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true })).toBe(false);
    expect(producesTokenTypeIds(null)).toBe(false);
    expect(producesTokenTypeIds({ type: 'Sequence', processors: [{ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, template(1)] })).toBe(true);
  });
});

describe('maskedLmCollator', () => {
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'it', 'is', 'running'];
  // 400 sentences of 1..10 words (lengths vary, so batches have padding). Max 16 tokens (model_max_length).
  const texts = Array.from({ length: 400 }, (_, i) => Array.from({ length: 1 + (i % 10) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));

  it('selects ~15% of real tokens with the 80/10/10 rule; never special tokens or padding; -100 elsewhere', () => {
    const collate = maskedLmCollator(bert, { seed: 42 });
    const clean = bert.encodeBatch(texts);
    let eligible = 0;
    let selected = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    for (let start = 0; start < texts.length; start += 50) {
      const b = collate(texts.slice(start, start + 50));
      const ref = clean.inputIds.slice(start, start + 50);
      const special = clean.specialTokensMask.slice(start, start + 50);
      const labels = b.labels as number[][];
      b.inputIds.forEach((row, i) => {
        const len = b.attentionMask[i]!.reduce((a, m) => a + m, 0);
        row.forEach((id, j) => {
          const orig = ref[i]![j]!;
          if (j >= len || special[i]![j] === 1) {
            expect(labels[i]![j]).toBe(IGNORE_INDEX);
            if (j < len) expect(id).toBe(orig);
            return;
          }
          eligible++;
          if (labels[i]![j] === IGNORE_INDEX) {
            expect(id).toBe(orig);
            return;
          }
          expect(labels[i]![j]).toBe(orig);
          selected++;
          if (id === bert.maskTokenId) masked++;
          else if (id !== orig) random++;
          else kept++;
        });
      });
    }
    // Fixed seed: exact counts (a change in the masking stream shows here) ...
    expect({ eligible, selected, masked, random, kept }).toEqual({ eligible: 2600, selected: 379, masked: 291, random: 39, kept: 49 });
    // ... that follow the 15% and 80/10/10 rule.
    expect(Math.abs(selected / eligible - 0.15)).toBeLessThan(0.02);
    expect(Math.abs(masked / selected - 0.8)).toBeLessThan(0.05);
    expect(Math.abs(random / selected - 0.1)).toBeLessThan(0.04);
    expect(Math.abs(kept / selected - 0.1)).toBeLessThan(0.04);
  });

  it('is deterministic for a seed and differs across seeds; random replacements are never special tokens', () => {
    const a = maskedLmCollator(bert, { seed: 7 })(texts.slice(0, 64));
    const b = maskedLmCollator(bert, { seed: 7 })(texts.slice(0, 64));
    const c = maskedLmCollator(bert, { seed: 8 })(texts.slice(0, 64));
    expect(a.inputIds).toEqual(b.inputIds);
    expect(a.labels).toEqual(b.labels);
    expect(a.labels).not.toEqual(c.labels);
    const t = a.toTensors();
    expect([t.labels.shape, t.labels.dtype]).toEqual([[64, a.inputIds[0]!.length], 'int32']);
    tf.dispose([t.inputs.inputIds, t.inputs.attentionMask, t.inputs.tokenTypeIds, t.labels]);
    const all = maskedLmCollator(bert, { seed: 1, mlmProbability: 1 })(texts.slice(0, 100));
    for (const row of all.inputIds) for (const id of row) expect(id === bert.maskTokenId || id === bert.padTokenId || id === bert.clsTokenId || id === bert.sepTokenId || id > 4).toBe(true);
  });

  it('needs mask and pad tokens', () => {
    expect(() => maskedLmCollator(gpt2)).toThrow(/mask token/);
  });
});

describe('causalLmCollator', () => {
  it('labels are the inputs, -100 at padding; GPT-2 pads with its eos token', () => {
    const b = causalLmCollator(gpt2)(['Hello world', 'the']);
    expect(b.inputIds).toEqual([
      [269, 75, 259, 268],
      [83, 257, 276, 276],
    ]);
    expect(b.labels).toEqual([
      [269, 75, 259, 268],
      [83, 257, IGNORE_INDEX, IGNORE_INDEX],
    ]);
    expect(b.attentionMask[1]).toEqual([1, 1, 0, 0]);
    expect(causalLmCollator(gpt2, { maxLength: 2 })(['Hello world']).inputIds).toEqual([[269, 75]]);
  });
});
