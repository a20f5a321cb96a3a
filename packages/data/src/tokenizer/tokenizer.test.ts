import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, rust } from '../test-helpers';
import { loadTokenizer, saveTokenizer, Tokenizer, trainWordPiece, type TokenizerJson } from '../index';

const GPT2_DIR = join(FIXTURES, 'gpt2-tiny');
const BERT_DIR = join(FIXTURES, 'bert-vocab');
let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'adapterkit-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The GPT-2 fixture turned into a RoBERTa tokenizer (`<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3 `<mask>`=4, RobertaProcessing). */
async function robertaJson(): Promise<TokenizerJson> {
  const g = JSON.parse(await readFile(join(GPT2_DIR, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  const vocab: Record<string, number> = Object.fromEntries(specials.map((t, i) => [t, i]));
  for (const [t, id] of Object.entries(g.model.vocab as Record<string, number>)) if (t !== '<|endoftext|>') vocab[t] = id + specials.length;
  return {
    ...g,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: content === '<mask>', rstrip: false, normalized: false, special: true })),
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    model: { ...g.model, vocab },
  };
}

/** Texts that exercise normalisation, pre-tokenisation and unknown characters. */
const PROBES = [
  'Hello world',
  "the lower  tower's",
  'Café naïve résumé ÉCOLE',
  '東京 is in 日本!',
  'tab\there\nnewline   spaces  ',
  "don't you'll we've I'm",
  '12345 3.14159 $100',
  'emoji 😀 test',
  '',
];

describe('byte-level BPE (hand-built GPT-2 fixture: 256 byte symbols + 20 merges)', () => {
  it('encodes like GPT-2: BPE applies merges by rank, not left to right', async () => {
    const tok = await loadTokenizer(GPT2_DIR);
    // "Hello": (l,o) has rank 3 and wins over (H,e) rank 13 and (l,l) rank 14; then He; (He,l)/(l,lo) are no merges.
    expect(tok.encode('Hello world').tokens).toEqual(['He', 'l', 'lo', 'Ġworld']);
    // GPT-2's regex: contractions apart, runs of spaces keep their last space for the next word.
    expect(tok.encode("the lower  tower's").tokens).toEqual(['t', 'he', 'Ġlower', 'Ġ', 'Ġt', 'o', 'w', 'er', "'s"]);
    expect(tok.encode('a   b').tokens).toEqual(['a', 'ĠĠ', 'Ġ', 'b']);
    expect(tok.encode(' the').ids).toEqual([258]);
    expect(tok.encode('café').tokens).toEqual(['c', 'a', 'f', 'Ã©']); // é = bytes C3 A9
    expect(tok.encode('a<|endoftext|>b').ids).toEqual([64, 276, 65]);
    expect(tok.encode('a<|endoftext|>b').specialTokensMask).toEqual([0, 1, 0]);
  });

  it('decodes back to the text and resolves GPT-2 special tokens from tokenizer_config.json', async () => {
    const tok = await loadTokenizer(GPT2_DIR);
    for (const t of PROBES) expect(tok.decode(tok.encode(t).ids)).toBe(t);
    expect(tok.decode([64, 276, 65], { skipSpecialTokens: false })).toBe('a<|endoftext|>b');
    expect(tok.decode([64, 276, 65])).toBe('ab');
    expect(tok.vocabSize).toBe(277);
    expect([tok.bosTokenId, tok.eosTokenId, tok.unkTokenId, tok.padTokenId]).toEqual([276, 276, 276, undefined]);
    expect(tok.modelMaxLength).toBe(1024);
  });

  it('needs a pad token to pad, and pads with the one it is given', async () => {
    const tok = await loadTokenizer(GPT2_DIR);
    expect(() => tok.encodeBatch(['a', 'a b'])).toThrow(/pad token/);
    const padded = tok.withSpecialTokens({ pad: '<|endoftext|>' }).encodeBatch(['a', 'a b']);
    expect(padded.inputIds).toEqual([
      [64, 276, 276],
      [64, 220, 65],
    ]);
    expect(padded.attentionMask).toEqual([[1, 0, 0], [1, 1, 1]]);
  });

  it('matches the Rust tokenizers library on single texts, pairs and every truncation strategy (GPT-2 and RoBERTa)', async () => {
    const roberta = await robertaJson();
    const cases: Array<[string, Tokenizer, string]> = [
      ['gpt2', await loadTokenizer(GPT2_DIR), await readFile(join(GPT2_DIR, 'tokenizer.json'), 'utf8')],
      ['roberta', Tokenizer.fromJSON(roberta), JSON.stringify(roberta)],
    ];
    for (const [name, ours, json] of cases) {
      const ref = rust.Tokenizer.fromString(json);
      for (const t of PROBES) {
        const r = await ref.encode(t);
        expect(ours.encode(t).ids, `${name} ${JSON.stringify(t)}`).toEqual(r.getIds());
        const p = await ref.encode(t, 'the second part');
        const o = ours.encode(t, 'the second part');
        expect([o.ids, o.tokenTypeIds], `${name} pair ${JSON.stringify(t)}`).toEqual([p.getIds(), p.getTypeIds()]);
      }
      for (const strategy of ['longest_first', 'only_first', 'only_second'] as const) {
        for (const maxLength of [9, 12, 16]) {
          ref.setTruncation(maxLength, { strategy: { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' }[strategy] });
          const [a, b] = ['the lower tower of the world', 'Hello world, the lower'];
          const expected = await ref.encode(a, b).then((r) => r.getIds(), () => 'too short');
          const got = (() => {
            try {
              return ours.encode(a, b, { maxLength, truncation: strategy }).ids;
            } catch (err) {
              return /cannot fit maxLength/.test(String(err)) ? 'too short' : err;
            }
          })();
          expect(got, `${name} ${strategy} ${maxLength}`).toEqual(expected);
        }
      }
    }
  });

  it('RoBERTa pairs are <s> A </s></s> B </s> with token type 0 throughout', () => {
    return robertaJson().then((json) => {
      const tok = Tokenizer.fromJSON(json);
      const e = tok.encode('the', 'world');
      expect(e.tokens).toEqual(['<s>', 't', 'he', '</s>', '</s>', 'w', 'or', 'ld', '</s>']);
      expect(e.tokenTypeIds.every((t) => t === 0)).toBe(true);
      expect(e.specialTokensMask).toEqual([1, 0, 0, 1, 1, 0, 0, 0, 1]);
      expect([tok.clsTokenId, tok.sepTokenId, tok.padTokenId, tok.maskTokenId, tok.unkTokenId, tok.bosTokenId, tok.eosTokenId]).toEqual([0, 2, 1, 4, 3, 0, 2]);
    });
  });
});

describe('WordPiece (BERT)', () => {
  it('builds a BERT tokenizer from a bare vocab.txt and splits words greedily longest-first', async () => {
    const tok = await loadTokenizer(BERT_DIR);
    expect(tok.encode('unaffable').tokens).toEqual(['[CLS]', 'un', '##aff', '##able', '[SEP]']);
    expect(tok.encode('The quick brown fox jumped!').tokens).toEqual(['[CLS]', 'the', 'quick', 'brown', 'fox', 'jump', '##ed', '!', '[SEP]']);
    expect(tok.encode('Zebra').tokens).toEqual(['[CLS]', '[UNK]', '[SEP]']);
    expect(tok.decode(tok.encode('It is running.').ids)).toBe('it is running.');
    expect([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId, tok.bosTokenId]).toEqual([0, 1, 2, 3, 4, undefined]);
    expect(tok.modelMaxLength).toBe(16);
  });

  it('encodes batches of texts and pairs with padding, attention masks, token types and int32 tensors', async () => {
    const tok = await loadTokenizer(BERT_DIR);
    const batch = tok.encodeBatch(['unaffable', ['the fox', 'is lazy']]);
    expect(batch.inputIds).toEqual([
      [2, 20, 21, 22, 3, 0, 0],
      [2, 10, 13, 3, 23, 18, 3],
    ]);
    expect(batch.attentionMask).toEqual([
      [1, 1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1, 1],
    ]);
    expect(batch.tokenTypeIds).toEqual([
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 1, 1, 1],
    ]);
    expect(batch.specialTokensMask[0]).toEqual([1, 0, 0, 0, 1, 1, 1]);
    const before = tf.memory().numTensors;
    const t = batch.toTensors();
    expect([t.inputIds.shape, t.inputIds.dtype, t.attentionMask.dtype, t.tokenTypeIds.shape]).toEqual([[2, 7], 'int32', 'int32', [2, 7]]);
    expect(await t.inputIds.array()).toEqual(batch.inputIds);
    tf.dispose([t.inputIds, t.attentionMask, t.tokenTypeIds]);
    expect(tf.memory().numTensors).toBe(before);

    const fixed = tok.encodeBatch(['fox', 'the quick brown fox'], { padding: 'max_length', maxLength: 8 });
    expect(fixed.inputIds.map((r) => r.length)).toEqual([8, 8]);
    expect(tok.encodeBatch(['fox'], { padToMultipleOf: 4 }).seqLength).toBe(4);
    const cut = tok.encodeBatch([['the quick brown fox', 'is lazy']], { maxLength: 6 });
    expect(cut.inputIds[0]).toEqual([2, 10, 11, 3, 23, 3]);
    expect(() => tok.encode('the quick brown fox', 'dog', { maxLength: 2 })).toThrow(/shorter than the 3 special tokens/);
    expect(() => tok.encodeBatch(['a', 'a b'], { padding: false }).toTensors()).toThrow(/row 1 has 4 tokens, row 0 has 3/);
  });

  it('trains a vocabulary, saves files the Rust library loads, and loads them back identically', async () => {
    // the first 300 passages of @adapterkit/datasets' loadEmbeddedCorpus('moby-dick'), kept as a fixture
    const corpus = JSON.parse(await readFile(join(FIXTURES, 'moby-dick-300.json'), 'utf8')) as string[];
    const tok = trainWordPiece(corpus, { vocabSize: 1000 });
    expect(tok.vocabSize).toBe(1000);
    expect(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => tok.tokenToId(t))).toEqual([0, 1, 2, 3, 4]);
    expect(tok.encode('the whale').tokens).toEqual(['[CLS]', 'the', 'whale', '[SEP]']);
    expect(tok.decode(tok.encode('Call me Ishmael. Some years ago!').ids)).toBe('call me ishmael. some years ago!');
    // Deterministic: the same corpus gives the same vocabulary.
    expect(trainWordPiece(corpus, { vocabSize: 1000 }).toJSON()).toEqual(tok.toJSON());

    const dir = join(tmp, 'trained');
    await saveTokenizer(tok, dir);
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
    expect(Object.keys(json)).toEqual(['version', 'truncation', 'padding', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'model']);
    expect(json.version).toBe('1.0');
    expect(json.normalizer).toEqual({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true });
    expect(json.pre_tokenizer).toEqual({ type: 'BertPreTokenizer' });
    expect(json.decoder).toEqual({ type: 'WordPiece', prefix: '##', cleanup: true });
    expect(json.model).toMatchObject({ type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 });
    expect(json.added_tokens[0]).toEqual({ id: 0, content: '[PAD]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    const vocabTxt = (await readFile(join(dir, 'vocab.txt'), 'utf8')).split('\n');
    expect(vocabTxt.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(vocabTxt.length).toBe(1001);
    expect(JSON.parse(await readFile(join(dir, 'special_tokens_map.json'), 'utf8'))).toEqual({
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    });
    expect(JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512 });

    const back = await loadTokenizer(dir);
    const ref = rust.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    expect(ref.getVocabSize(true)).toBe(1000);
    const probes = [...corpus.slice(290, 300), ...PROBES, 'Ahab [MASK] the whale.'];
    for (const t of probes) {
      const r = await ref.encode(t, 'and the sea');
      expect(back.encode(t, 'and the sea').ids).toEqual(r.getIds());
      expect(back.encode(t, 'and the sea').tokenTypeIds).toEqual(r.getTypeIds());
      expect(back.encode(t).ids).toEqual(tok.encode(t).ids);
    }
    // vocab.txt alone gives the same tokenizer.
    await rm(join(dir, 'tokenizer.json'));
    const fromVocab = await loadTokenizer(dir);
    for (const t of probes) expect(fromVocab.encode(t).ids).toEqual(tok.encode(t).ids);
  });

  it('keeps case and accents when trained cased', () => {
    const tok = trainWordPiece(['Éclair Café', 'Éclair'], { vocabSize: 60, lowercase: false, minFrequency: 1 });
    expect(tok.encode('Éclair').tokens).toEqual(['[CLS]', 'Éclair', '[SEP]']);
    expect(tok.decode(tok.encode('Café Éclair').ids)).toBe('Café Éclair');
  });
});

describe('loading errors', () => {
  it('names the missing or malformed file', async () => {
    await expect(loadTokenizer(join(tmp, 'nope'))).rejects.toThrow(/does not exist/);
    await expect(loadTokenizer(tmp)).rejects.toThrow(/neither tokenizer.json nor vocab.txt/);
    const bad = join(tmp, 'bad.json');
    await writeFile(bad, '{"version": ');
    await expect(loadTokenizer(bad)).rejects.toThrow(/bad.json: invalid JSON/);
    const noPad = join(tmp, 'nopad');
    await saveTokenizer(await loadTokenizer(BERT_DIR), noPad);
    await writeFile(join(noPad, 'special_tokens_map.json'), '{"pad_token": "<pad>"}');
    await expect(loadTokenizer(noPad)).rejects.toThrow(/special_tokens_map.json names pad token "<pad>", which is not in the vocabulary/);
  });
});
