import { describe, expect, it } from 'vitest';
import { Tokenizer, type TokenizerJson } from '../index';

/** GPT-2's byte → printable-character map (`bytes_to_unicode`). */
function byteChars(): string[] {
  const keep = [...Array.from({ length: 94 }, (_, i) => 33 + i), ...Array.from({ length: 12 }, (_, i) => 161 + i), ...Array.from({ length: 82 }, (_, i) => 174 + i)];
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}

/**
 * A tiny tokenizer.json in the layout of Qwen2's and Llama 3's (byte-level BPE: a regex `Split` then `ByteLevel`
 * without its own regex, `ignore_merges`, ChatML special tokens as added tokens, NFC normaliser).
 */
function qwenStyleTokenizer(): TokenizerJson {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const added = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'].map((content, i) => ({
    id: 300 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
          behavior: 'Isolated',
          invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  } as unknown as TokenizerJson;
}

describe('byte-level BPE tokenizer.json in the Qwen2 / Llama 3 layout', () => {
  const tok = Tokenizer.fromJSON(qwenStyleTokenizer(), { eos_token: '<|im_end|>', pad_token: '<|endoftext|>' });

  it('applies the merges after the regex split, keeps special tokens whole, and decodes back exactly', () => {
    const vocab = qwenStyleTokenizer().model.vocab as Record<string, number>;
    expect(tok.encode('hello world', null, { addSpecialTokens: false }).ids).toEqual([vocab['hello'], vocab['Ġworld']]);
    const chat = '<|im_start|>user\nhello world<|im_end|>\n';
    const ids = tok.encode(chat, null, { addSpecialTokens: false }).ids;
    expect(ids[0]).toBe(301);
    expect(ids).toContain(302);
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe(chat);
    for (const text of ['Héllo, wörld ✓ 42!', 'tabs\tand  spaces\n\nnew lines', '中文 и русский']) {
      expect(tok.decode(tok.encode(text, null, { addSpecialTokens: false }).ids)).toBe(text);
    }
    expect(tok.specialTokens.eos?.id).toBe(302);
    expect(tok.padTokenId).toBe(300);
  });
});
