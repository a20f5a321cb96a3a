import { BertNormalizer, BertPreTokenizer } from '@huggingface/tokenizers';
import { AdapterKitError } from '@adapterkit/core';
import { BERT_SPECIAL_TOKENS, bertTokenizerConfig, bertTokenizerJson, type BertSpecialTokens } from './bert-json';
import { Tokenizer } from './tokenizer';

/** Options of {@link trainWordPiece} (defaults of `tokenizers`' `BertWordPieceTokenizer.train`). */
export interface TrainWordPieceOptions {
  /**
   * Size of the final vocabulary, special tokens and alphabet included (which are always kept, even beyond it);
   * default 30000.
   */
  readonly vocabSize?: number;
  /** Lower-case (and strip accents from) the text, default true (uncased BERT). */
  readonly lowercase?: boolean;
  /** Strip accents; default: follow `lowercase`. */
  readonly stripAccents?: boolean;
  /** Pairs seen fewer times than this are never merged; default 2. */
  readonly minFrequency?: number;
  /** Keep at most this many distinct characters (the most frequent), default 1000. */
  readonly limitAlphabet?: number;
  /** Special tokens by role (default BERT's `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`; ids 0–4 in that order). */
  readonly specialTokens?: Partial<BertSpecialTokens>;
  /** More special tokens, given the ids after the standard five. */
  readonly additionalSpecialTokens?: readonly string[];
  /** `model_max_length` written to tokenizer_config.json, default 512. */
  readonly modelMaxLength?: number;
}

const PREFIX = '##';

/** A binary max-heap of candidate merges: higher count first, then smaller (left, right) ids (deterministic). */
class MergeQueue {
  private readonly items: { count: number; a: number; b: number }[] = [];
  private static before(x: { count: number; a: number; b: number }, y: { count: number; a: number; b: number }): boolean {
    return x.count !== y.count ? x.count > y.count : x.a !== y.a ? x.a < y.a : x.b < y.b;
  }
  push(item: { count: number; a: number; b: number }): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!MergeQueue.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): { count: number; a: number; b: number } | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && MergeQueue.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && MergeQueue.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const pairKey = (a: number, b: number): number => a * 0x4000000 + b;

/** Counts the words of a corpus after BERT normalisation and pre-tokenisation. */
function countWords(texts: Iterable<string>, lowercase: boolean, stripAccents: boolean | undefined): Map<string, number> {
  const normalizer = new BertNormalizer({
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: stripAccents ?? null,
    lowercase,
  } as ConstructorParameters<typeof BertNormalizer>[0]);
  const preTokenizer = new BertPreTokenizer();
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== 'string') throw new AdapterKitError('BAD_INPUT', `trainWordPiece: corpus items must be strings, got ${typeof text}`);
    for (const w of preTokenizer.pre_tokenize_text(normalizer.normalize(text))) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/**
 * Trains a BERT WordPiece vocabulary on a corpus, the way `tokenizers`' `WordPieceTrainer` does: BERT normalisation
 * and pre-tokenisation, an alphabet of the `limitAlphabet` most frequent characters (plus the `##` continuations of
 * those seen inside words), then greedy BPE-style merges of the most frequent adjacent pair (ties: the pair of smaller ids, so
 * the result is deterministic) until `vocabSize` or until no pair reaches `minFrequency`. Special tokens come first
 * (`[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4), then the alphabet by code point, then the merges.
 *
 * @param texts - The corpus (any iterable of strings).
 * @returns A BERT tokenizer (`saveTokenizer` writes it as `tokenizer.json` + `vocab.txt` + configs).
 */
export function trainWordPiece(texts: Iterable<string>, options: TrainWordPieceOptions = {}): Tokenizer {
  const vocabSize = options.vocabSize ?? 30000;
  const minFrequency = options.minFrequency ?? 2;
  const limitAlphabet = options.limitAlphabet ?? 1000;
  const lowercase = options.lowercase ?? true;
  for (const [k, v] of [['vocabSize', vocabSize], ['minFrequency', minFrequency], ['limitAlphabet', limitAlphabet]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new AdapterKitError('BAD_OPTION', `trainWordPiece: ${k} must be a non-negative integer, got ${v}`);
  }
  const specials: BertSpecialTokens = { ...BERT_SPECIAL_TOKENS, ...options.specialTokens };
  const vocab: string[] = [];
  const ids = new Map<string, number>();
  const add = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(t);
      ids.set(t, id);
    }
    return id;
  };
  for (const t of [specials.pad, specials.unk, specials.cls, specials.sep, specials.mask, ...(options.additionalSpecialTokens ?? [])]) add(t);

  const wordCounts = countWords(texts, lowercase, options.stripAccents);
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  const byCode = (x: string, y: string): number => x.codePointAt(0)! - y.codePointAt(0)!;
  const alphabet = [...charCounts.entries()]
    .sort((x, y) => y[1] - x[1] || byCode(x[0], y[0]))
    .slice(0, limitAlphabet)
    .map(([ch]) => ch)
    .sort(byCode);
  const inAlphabet = new Set(alphabet);
  for (const ch of alphabet) add(ch);
  // Words as symbol-id sequences: the first character as is, the others as `##` continuations (characters outside
  // the kept alphabet are dropped, as the Rust trainer does); continuation symbols join the vocabulary by code point.
  const sortedWords = [...wordCounts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const charsOf = (w: string): string[] => [...w].filter((ch) => inAlphabet.has(ch));
  const continuations = new Set<string>();
  for (const [w] of sortedWords) for (const ch of charsOf(w).slice(1)) continuations.add(ch);
  for (const ch of [...continuations].sort(byCode)) add(PREFIX + ch);
  const words: { symbols: number[]; count: number }[] = [];
  for (const [w, count] of sortedWords) {
    const symbols = charsOf(w).map((ch, i) => ids.get(i === 0 ? ch : PREFIX + ch)!);
    if (symbols.length > 0) words.push({ symbols, count });
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const countPairs = (wi: number, sign: 1 | -1, touched: Set<number> | null): void => {
    const { symbols, count } = words[wi]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i]!, symbols[i + 1]!);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * count);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
      touched?.add(key);
    }
  };
  words.forEach((_, wi) => countPairs(wi, 1, null));
  const queue = new MergeQueue();
  const pushPair = (key: number): void => {
    const count = pairCounts.get(key) ?? 0;
    if (count > 0) queue.push({ count, a: Math.floor(key / 0x4000000), b: key % 0x4000000 });
  };
  for (const key of pairCounts.keys()) pushPair(key);

  while (vocab.length < vocabSize) {
    const top = queue.pop();
    if (top === undefined) break;
    const key = pairKey(top.a, top.b);
    const current = pairCounts.get(key) ?? 0;
    if (top.count !== current) {
      pushPair(key);
      continue;
    }
    if (current < 1 || current < minFrequency) break;
    const right = vocab[top.b]!;
    const merged = add(vocab[top.a]! + (right.startsWith(PREFIX) ? right.slice(PREFIX.length) : right));
    const touched = new Set<number>();
    for (const wi of pairWords.get(key) ?? []) {
      countPairs(wi, -1, touched);
      const s = words[wi]!.symbols;
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === top.a && s[i + 1] === top.b) {
          out.push(merged);
          i++;
        } else out.push(s[i]!);
      }
      words[wi]!.symbols = out;
      countPairs(wi, 1, touched);
    }
    for (const k of touched) pushPair(k);
  }
  const bertOptions = {
    lowercase,
    stripAccents: options.stripAccents ?? null,
    specialTokens: specials,
    additionalSpecialTokens: options.additionalSpecialTokens ?? [],
  };
  const config = bertTokenizerConfig({ ...bertOptions, ...(options.modelMaxLength === undefined ? {} : { modelMaxLength: options.modelMaxLength }) });
  return Tokenizer.fromJSON(bertTokenizerJson(vocab, bertOptions), config);
}
