import { Rng } from '@adapterkit/core';
import { maskingReplacementIds, maskTokens, toTrainingExamples, type LabelMap, type TextExample, type Tokenizer } from '@adapterkit/data';
import { IGNORE_INDEX, type Example } from '@adapterkit/training';
import { CliError } from '../cli/errors';
import type { TaggedExample, Task, TaskExample } from './datasets';

/** Options of {@link encodeExamples}. */
export interface EncodeOptions {
  readonly maxLength: number;
  /** Classification / tagging label names. */
  readonly labels?: LabelMap;
  /** Seed of the masked-LM masking. */
  readonly seed: number;
  /** Keep token type ids (false for models without token types, e.g. GPT-2, which would embed them as words). */
  readonly tokenTypes: boolean;
}

/** Token ids of a sequence of words, and where each word's first sub-word token is (−1 when truncated away). */
export interface WordEncoding {
  readonly ids: number[];
  readonly wordStarts: number[];
}

/**
 * Encode pre-split words for tagging: each word is tokenized on its own (byte-level BPE words after the first get
 * their leading space), wrapped in `[CLS] … [SEP]` when the tokenizer has them, and cut at `maxLength` tokens.
 */
export function encodeWords(tokenizer: Tokenizer, words: readonly string[], maxLength: number): WordEncoding {
  const cls = tokenizer.clsTokenId;
  const sep = tokenizer.sepTokenId;
  const wrap = cls !== undefined && sep !== undefined;
  const budget = maxLength - (wrap ? 2 : 0);
  const ids: number[] = wrap ? [cls] : [];
  const wordStarts: number[] = [];
  const spaced = tokenizer.modelType === 'BPE';
  for (const [k, w] of words.entries()) {
    const pieces = tokenizer.tokenize(spaced && k > 0 ? ` ${w}` : w).map((t) => {
      const id = tokenizer.tokenToId(t) ?? tokenizer.unkTokenId;
      if (id === undefined) throw new CliError(`word ${JSON.stringify(w)}: token ${JSON.stringify(t)} is not in the vocabulary and the tokenizer has no unknown token`);
      return id;
    });
    if (pieces.length === 0 || ids.length - (wrap ? 1 : 0) + pieces.length > budget) {
      wordStarts.push(-1);
      continue;
    }
    wordStarts.push(ids.length);
    ids.push(...pieces);
  }
  if (wrap) ids.push(sep);
  return { ids, wordStarts };
}

function tagged(tokenizer: Tokenizer, rows: readonly TaggedExample[], o: EncodeOptions): Example[] {
  return rows.map((r) => {
    const { ids, wordStarts } = encodeWords(tokenizer, r.words, o.maxLength);
    const labels = ids.map(() => IGNORE_INDEX);
    wordStarts.forEach((pos, k) => {
      if (pos >= 0) labels[pos] = o.labels!.id(r.tags[k]!);
    });
    return { inputIds: ids, labels };
  });
}

/**
 * Turn task examples into the trainer's tokenized examples (unpadded; the trainer pads per batch):
 * - classification: `[CLS] text [SEP] (pair [SEP])`, label = class id;
 * - tagging: per-word labels on each word's first token, −100 elsewhere;
 * - masked-lm: BERT's 80/10/10 masking of 15 % of the tokens, drawn once with `seed` (static masking);
 * - causal-lm: the token ids as labels (the head shifts them).
 */
export function encodeExamples(task: Task, tokenizer: Tokenizer, rows: readonly TaskExample[], o: EncodeOptions): Example[] {
  const trunc = { maxLength: o.maxLength, truncation: true } as const;
  switch (task) {
    case 'classification':
      return toTrainingExamples(tokenizer, rows as readonly TextExample[], { maxLength: o.maxLength, tokenTypeIds: o.tokenTypes, ...(o.labels ? { labelMap: o.labels } : {}) });
    case 'tagging':
      return tagged(tokenizer, rows as readonly TaggedExample[], o);
    case 'causal-lm':
      return (rows as readonly TextExample[]).map((r) => {
        const e = tokenizer.encode(r.text, r.textPair ?? null, trunc);
        return { inputIds: e.ids, labels: e.ids };
      });
    case 'masked-lm': {
      const enc = (rows as readonly TextExample[]).map((r) => tokenizer.encode(r.text, r.textPair ?? null, trunc));
      return maskedExamples(
        tokenizer,
        enc.map((e) => e.ids),
        enc.map((e) => e.specialTokensMask),
        o.tokenTypes ? enc.map((e) => e.tokenTypeIds) : undefined,
        o.seed,
      );
    }
  }
}

/**
 * Apply BERT's masking to token rows (special tokens never masked; at least one token per row); labels are the
 * original ids where masked, −100 elsewhere. `tokenTypes` undefined: the examples carry no token type ids.
 */
function maskedExamples(
  tokenizer: Tokenizer,
  ids: readonly (readonly number[])[],
  specialMask: readonly (readonly number[])[],
  tokenTypes: readonly (readonly number[])[] | undefined,
  seed: number,
): Example[] {
  const maskTokenId = tokenizer.maskTokenId;
  if (maskTokenId === undefined) throw new CliError('masked-lm needs a tokenizer with a mask token ([MASK] / <mask>)');
  const masked = maskTokens(ids, specialMask, { maskTokenId, randomIds: maskingReplacementIds(tokenizer), probability: 0.15, rng: new Rng(seed) });
  // A row without any prediction adds nothing but a 0/0 loss: mask one of its tokens (short texts).
  const extra = new Rng(seed + 1);
  masked.labels.forEach((labels, i) => {
    if (labels.some((l) => l !== IGNORE_INDEX)) return;
    const candidates = specialMask[i]!.flatMap((s, j) => (s === 0 ? [j] : []));
    if (candidates.length === 0) return;
    const j = candidates[Math.floor(extra.next() * candidates.length)]!;
    labels[j] = ids[i]![j]!;
    masked.inputIds[i]![j] = maskTokenId;
  });
  return masked.inputIds.map((row, i) => ({ inputIds: row, ...(tokenTypes ? { tokenTypeIds: [...tokenTypes[i]!] } : {}), labels: masked.labels[i]! }));
}
