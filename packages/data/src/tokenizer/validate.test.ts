import { describe, expect, it } from 'vitest';
import { AdapterKitError } from '@adapterkit/core';
import { bertTokenizerJson, Tokenizer } from '../index';

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat'];
const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(bertTokenizerJson(vocab, { lowercase: true, stripAccents: null }))) as Record<string, unknown>;
const build = (json: Record<string, unknown>): Tokenizer => Tokenizer.fromJSON(json as never);

describe('tokenizer.json structure is checked before use (pnpm fuzz reproducers)', () => {
  it('a vocabulary id of 1e9 is a typed error, not a billion-entry table', () => {
    const json = base();
    (json['model'] as { vocab: Record<string, number> }).vocab['cat'] = 1e9;
    expect(() => build(json)).toThrow(AdapterKitError);
    expect(() => build(json)).toThrow(/model\.vocab\["cat"\] = 1000000000 must be an integer id/);
  });
  it('a WordPiece vocabulary given as a list is a typed error (it made the engine spin for 30 s)', () => {
    const json = base();
    (json['model'] as { vocab: unknown }).vocab = [null, 1e9];
    expect(() => build(json)).toThrow(/model\.vocab must be an object of token → id for a WordPiece model/);
  });
  it('malformed added_tokens and post_processor pieces are typed errors naming the field', () => {
    const a = base();
    a['added_tokens'] = [{ content: '[PAD]' }];
    expect(() => build(a)).toThrow(/added_tokens\[0\] must be/);
    const b = base();
    (b['post_processor'] as { single: unknown[] }).single = ['I'];
    expect(() => build(b)).toThrow(/post_processor\.single\[0\] must be/);
    const c = base();
    c['post_processor'] = { type: 'BertProcessing', sep: '[SEP]', cls: ['[CLS]', 2] };
    expect(() => build(c)).toThrow(/post_processor\.sep must be \[token, id\]/);
  });
  it('the valid file still encodes', () => {
    expect(build(base()).encode('the cat').ids.length).toBeGreaterThan(2);
  });
});
