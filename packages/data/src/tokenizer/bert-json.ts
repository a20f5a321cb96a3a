import { AdapterKitError } from '@adapterkit/core';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './schema';

/** The special tokens of a BERT-style tokenizer. */
export interface BertSpecialTokens {
  readonly pad: string;
  readonly unk: string;
  readonly cls: string;
  readonly sep: string;
  readonly mask: string;
}

/** BERT's special tokens. */
export const BERT_SPECIAL_TOKENS: BertSpecialTokens = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

/** Options of {@link bertTokenizerJson}. */
export interface BertJsonOptions {
  /** Lower-case the text (`BertNormalizer.lowercase`), default true. */
  readonly lowercase?: boolean;
  /** Strip accents; default (null): follow `lowercase`, as BERT. */
  readonly stripAccents?: boolean | null;
  readonly specialTokens?: BertSpecialTokens;
  /** Extra special tokens (must be in the vocabulary). */
  readonly additionalSpecialTokens?: readonly string[];
}

/**
 * A BERT `tokenizer.json` (the exact layout `tokenizers` writes for `bert-base-uncased`: BertNormalizer,
 * BertPreTokenizer, TemplateProcessing `[CLS] $A [SEP] $B:1 [SEP]:1`, WordPiece decoder and model with `##`
 * continuation and 100-char words) for a vocabulary given in id order.
 *
 * @param vocab - Tokens in id order (as `vocab.txt` lists them).
 */
export function bertTokenizerJson(vocab: readonly string[], options: BertJsonOptions = {}): TokenizerJson {
  const specials = options.specialTokens ?? BERT_SPECIAL_TOKENS;
  const ids: Record<string, number> = Object.create(null) as Record<string, number>;
  vocab.forEach((t, i) => {
    if (t in ids) throw new AdapterKitError('TOKENIZER_FORMAT', `vocabulary lists ${JSON.stringify(t)} twice (ids ${ids[t]} and ${i})`);
    ids[t] = i;
  });
  const idOf = (t: string): number => {
    const id = ids[t];
    if (id === undefined) throw new AdapterKitError('TOKENIZER_FORMAT', `special token ${JSON.stringify(t)} is not in the vocabulary`);
    return id;
  };
  const specialList = [...new Set([specials.pad, specials.unk, specials.cls, specials.sep, specials.mask, ...(options.additionalSpecialTokens ?? [])])];
  const added: AddedTokenJson[] = specialList
    .map((t) => ({ id: idOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((x, y) => x.id - y.id);
  const special = (t: string, typeId: number) => ({ SpecialToken: { id: t, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: options.stripAccents ?? null,
      lowercase: options.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(specials.cls, 0), sequence('A', 0), special(specials.sep, 0)],
      pair: [special(specials.cls, 0), sequence('A', 0), special(specials.sep, 0), sequence('B', 1), special(specials.sep, 1)],
      special_tokens: {
        [specials.cls]: { id: specials.cls, ids: [idOf(specials.cls)], tokens: [specials.cls] },
        [specials.sep]: { id: specials.sep, ids: [idOf(specials.sep)], tokens: [specials.sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: specials.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
}

/** The `tokenizer_config.json` transformers writes for a `BertTokenizer(Fast)`. */
export function bertTokenizerConfig(options: BertJsonOptions & { readonly modelMaxLength?: number } = {}): TokenizerConfigJson {
  const s = options.specialTokens ?? BERT_SPECIAL_TOKENS;
  return {
    clean_up_tokenization_spaces: true,
    cls_token: s.cls,
    do_lower_case: options.lowercase ?? true,
    mask_token: s.mask,
    model_max_length: options.modelMaxLength ?? 512,
    pad_token: s.pad,
    sep_token: s.sep,
    strip_accents: options.stripAccents ?? null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: s.unk,
  };
}
