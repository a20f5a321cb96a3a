import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, type AdapterModel } from '@adapterkit/core';
import type { Tokenizer } from '@adapterkit/data';
import { generate, type SamplingOptions } from '@adapterkit/generate';
import { forwardWithHeads } from '@adapterkit/training';
import { headLabels, requireHead } from './adapters';
import { batchInputs, hostLimits, positiveInt, type HostLimits } from './encode';

/** A label and its probability. */
export interface LabelScore {
  readonly label: string;
  /** Softmax probability (sigmoid for multi-label heads). */
  readonly score: number;
}

/** What every pipeline runs on. */
export interface PipelineContext {
  readonly model: AdapterModel;
  readonly tokenizer: Tokenizer;
  /** The prediction head (absent for text generation with the host's own LM head). */
  readonly head?: string;
}

/** Options of text classification. */
export interface TextClassificationOptions {
  /** Labels per text, most probable first (default 1; `Infinity` or more than the labels: all). */
  readonly topK?: number;
  /** Truncate inputs to this many tokens (default: min(512, the model's positions)). */
  readonly maxLength?: number;
  /** Texts per forward pass (default 32). */
  readonly batchSize?: number;
}

function maxLengthOf(limits: HostLimits, asked: number | undefined): number {
  const n = positiveInt(asked, Math.min(512, limits.maxLength), 'maxLength');
  if (n > limits.maxLength) throw new AdapterKitError('PIPELINE_OPTION', `maxLength ${n} exceeds the model's ${limits.maxLength} positions`);
  return n;
}

/**
 * Text classification with a classification head: per text, `topK` labels with their probabilities, most probable
 * first. Plain arrays: no tensor reaches the caller.
 */
export function classifyTexts(ctx: PipelineContext, texts: readonly string[], options: TextClassificationOptions = {}): LabelScore[][] {
  const config = requireHead(ctx.model, ctx.head, 'text-classification', ['classification', 'multilabel_classification']);
  const numLabels = config.numLabels ?? 0;
  const labels = headLabels(config, numLabels);
  const limits = hostLimits(ctx.model);
  const maxLength = maxLengthOf(limits, options.maxLength);
  const batchSize = positiveInt(options.batchSize, 32, 'batchSize');
  const topK = options.topK === undefined ? 1 : options.topK === Infinity ? numLabels : positiveInt(options.topK, 1, 'topK');
  const multilabel = config.headType === 'multilabel_classification';
  const out: LabelScore[][] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = ctx.tokenizer.encodeBatch(texts.slice(start, start + batchSize), { maxLength, truncation: true });
    const probs = tf.tidy(() => {
      const { logits } = forwardWithHeads(ctx.model, batchInputs(batch, limits), { head: ctx.head! });
      return (multilabel ? tf.sigmoid(logits) : tf.softmax(logits)).arraySync() as number[][];
    });
    for (const p of probs) {
      const ranked = p.map((score, i) => ({ label: labels[i]!, score })).sort((a, b) => b.score - a.score);
      out.push(ranked.slice(0, Math.min(topK, ranked.length)));
    }
  }
  return out;
}

/** One token's tag. */
export interface TokenTag {
  /** The token (a word piece). */
  readonly word: string;
  /** The most probable tag. */
  readonly entity: string;
  readonly score: number;
  /** Position of the token in the encoded sequence (special tokens included). */
  readonly index: number;
}

/**
 * How token classification merges word pieces (transformers' `aggregation_strategy`):
 * - `none` (default): one {@link TokenTag} per word piece;
 * - `simple`: each piece takes its most probable tag, then adjacent pieces of the same entity are grouped;
 * - `first` / `max` / `average`: pieces are first merged into words, a word taking the tag of its first piece, of
 *   its most confident piece, or the best tag of its pieces' averaged probabilities; then the words are grouped.
 * Grouping follows transformers' B-/I- rules: a piece or word joins the group before it when its tag (the label
 * without a `B-`/`I-` prefix; a label without one counts as `I-`) is the same and it does not start with `B-`.
 */
export type AggregationStrategy = 'none' | 'simple' | 'first' | 'max' | 'average';
/** The strategies that return {@link EntityGroup}s. */
export type GroupingStrategy = Exclude<AggregationStrategy, 'none'>;

/** A group of adjacent word pieces tagged as one entity (transformers' `entity_group` results). */
export interface EntityGroup {
  /** The entity: the first member's label without its `B-`/`I-` prefix (transformers splits at the first `-`). */
  readonly entityGroup: string;
  /** Mean of the members' scores (pieces for `simple`, words otherwise). */
  readonly score: number;
  /** The group's text: its pieces decoded together (`##` joins, `Ġ` becomes a space), without clean-up. */
  readonly word: string;
  /** Positions of the group's pieces in the encoded sequence (special tokens included), ascending. */
  readonly indices: readonly number[];
}

/** Options of token classification. */
export interface TokenClassificationOptions {
  /** Truncate inputs to this many tokens (default: min(512, the model's positions)). */
  readonly maxLength?: number;
  /** See {@link AggregationStrategy}; default `none`. */
  readonly aggregationStrategy?: AggregationStrategy;
  /**
   * Tags (grouped strategies: entity groups) left out of the results. Default `['O']` for the grouped strategies,
   * as transformers; `[]` for `none`, which returns every piece (transformers drops `O` pieces there too).
   */
  readonly ignoreLabels?: readonly string[];
}

/** One word piece before aggregation: its tag probabilities and whether it continues the word before it. */
export interface TokenScores {
  /** The piece. */
  readonly word: string;
  /** Its position in the encoded sequence. */
  readonly index: number;
  /** Probability of each label, `[numLabels]`. */
  readonly scores: readonly number[];
  /** Whether the piece continues the previous piece's word (WordPiece `##x`; a byte-level piece without `Ġ`). */
  readonly isSubword: boolean;
}

const AGGREGATION_STRATEGIES: readonly string[] = ['none', 'simple', 'first', 'max', 'average'];

function argMax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

function bioTag(label: string): [string, string] {
  if (label.startsWith('B-')) return ['B', label.slice(2)];
  if (label.startsWith('I-')) return ['I', label.slice(2)];
  return ['I', label];
}

interface Scored {
  readonly entity: string;
  readonly score: number;
  readonly pieces: readonly TokenScores[];
}

/**
 * Aggregate the word pieces of one text as transformers' token-classification pipeline does for
 * `aggregation_strategy` `strategy` (`aggregate`, `aggregate_words`, `group_entities`). `labels[i]` names score `i`;
 * `decode` turns pieces into text (e.g. the tokenizer's decoder). Ties go to the first label, as numpy's `argmax`.
 * `ignoreLabels` as in {@link TokenClassificationOptions}.
 */
export function aggregateTokenScores(
  tokens: readonly TokenScores[],
  labels: readonly string[],
  strategy: GroupingStrategy,
  decode: (pieces: readonly TokenScores[]) => string,
  ignoreLabels: readonly string[] = ['O'],
): EntityGroup[] {
  if (!AGGREGATION_STRATEGIES.includes(strategy) || strategy === ('none' as string)) {
    throw new AdapterKitError('PIPELINE_OPTION', `aggregationStrategy must be one of 'simple', 'first', 'max', 'average' here, got ${JSON.stringify(strategy)}`);
  }
  const labelOf = (i: number): string => {
    const l = labels[i];
    if (l === undefined) throw new AdapterKitError('PIPELINE_OPTION', `token-classification: no label for score ${i} (${labels.length} labels)`);
    return l;
  };
  let units: Scored[];
  if (strategy === 'simple') {
    units = tokens.map((t) => {
      const i = argMax(t.scores);
      return { entity: labelOf(i), score: t.scores[i]!, pieces: [t] };
    });
  } else {
    // words: a piece that is not a subword starts a new word
    const words: TokenScores[][] = [];
    for (const t of tokens) {
      if (words.length > 0 && t.isSubword) words[words.length - 1]!.push(t);
      else words.push([t]);
    }
    units = words.map((w) => {
      let scores: readonly number[];
      if (strategy === 'first') scores = w[0]!.scores;
      else if (strategy === 'max') scores = w.reduce((best, t) => (Math.max(...t.scores) > Math.max(...best.scores) ? t : best)).scores;
      else scores = w[0]!.scores.map((_, k) => w.reduce((sum, t) => sum + t.scores[k]!, 0) / w.length);
      const i = argMax(scores);
      return { entity: labelOf(i), score: scores[i]!, pieces: w };
    });
  }
  const groups: Scored[][] = [];
  for (const u of units) {
    const last = groups[groups.length - 1];
    const [bi, tag] = bioTag(u.entity);
    if (last && bi !== 'B' && bioTag(last[last.length - 1]!.entity)[1] === tag) last.push(u);
    else groups.push([u]);
  }
  const ignored = new Set(ignoreLabels);
  return groups
    .map((g) => {
      const first = g[0]!.entity;
      const dash = first.indexOf('-');
      const pieces = g.flatMap((u) => u.pieces);
      return {
        entityGroup: dash < 0 ? first : first.slice(dash + 1),
        score: g.reduce((sum, u) => sum + u.score, 0) / g.length,
        word: decode(pieces),
        indices: pieces.map((p) => p.index),
      };
    })
    .filter((e) => !ignored.has(e.entityGroup));
}

/**
 * Whether each piece continues the word of the piece before it, from the pieces alone (no character offsets):
 * with a continuing-subword prefix (WordPiece `##`), the pieces that carry it; else (byte-level BPE, Metaspace) the
 * pieces after the first that do not start a word (`Ġ`, `▁` or a space), transformers' fallback heuristic. The
 * unknown token is never a subword (as transformers).
 */
function subwordFlags(tokenizer: Tokenizer, tokens: readonly string[], ids: readonly number[], keep: readonly boolean[]): boolean[] {
  const prefix = tokenizer.toJSON().model.continuing_subword_prefix;
  const unk = tokenizer.unkTokenId;
  let seen = false;
  return tokens.map((t, j) => {
    if (!keep[j]) return false;
    const first = !seen;
    seen = true;
    if (ids[j] === unk) return false;
    if (typeof prefix === 'string' && prefix.length > 0) return t.startsWith(prefix);
    return !first && !/^[\u0120\u2581 ]/.test(t);
  });
}

/**
 * Token classification with a tagging head: per text, each non-special token with its most probable tag
 * (`aggregationStrategy` `none`, the default), or the entity groups of {@link aggregateTokenScores}.
 * @throws AdapterKitError `PIPELINE_OPTION` for an unknown `aggregationStrategy`.
 */
export function tagTexts(ctx: PipelineContext, texts: readonly string[], options?: TokenClassificationOptions & { readonly aggregationStrategy?: 'none' }): TokenTag[][];
export function tagTexts(ctx: PipelineContext, texts: readonly string[], options: TokenClassificationOptions & { readonly aggregationStrategy: GroupingStrategy }): EntityGroup[][];
export function tagTexts(ctx: PipelineContext, texts: readonly string[], options?: TokenClassificationOptions): TokenTag[][] | EntityGroup[][];
export function tagTexts(ctx: PipelineContext, texts: readonly string[], options: TokenClassificationOptions = {}): TokenTag[][] | EntityGroup[][] {
  const config = requireHead(ctx.model, ctx.head, 'token-classification', ['tagging']);
  const labels = headLabels(config, config.numLabels ?? 0);
  const limits = hostLimits(ctx.model);
  const maxLength = maxLengthOf(limits, options.maxLength);
  const strategy = options.aggregationStrategy ?? 'none';
  if (!AGGREGATION_STRATEGIES.includes(strategy)) {
    throw new AdapterKitError('PIPELINE_OPTION', `aggregationStrategy must be one of ${AGGREGATION_STRATEGIES.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(strategy)}`);
  }
  const perText = texts.map((text) => {
    const e = ctx.tokenizer.encode(text, null, { maxLength, truncation: true });
    const probs = tf.tidy(() => {
      const row = { inputIds: [e.ids], attentionMask: [e.attentionMask], tokenTypeIds: [e.tokenTypeIds] };
      return tf.softmax(forwardWithHeads(ctx.model, batchInputs(row, limits), { head: ctx.head! }).logits).arraySync() as number[][][];
    });
    const keep = e.specialTokensMask.map((m) => m === 0);
    const sub = subwordFlags(ctx.tokenizer, e.tokens, e.ids, keep);
    const pieces: TokenScores[] = e.ids.flatMap((_, j) => (keep[j] ? [{ word: e.tokens[j]!, index: j, scores: probs[0]![j]!, isSubword: sub[j]! }] : []));
    return { pieces, ids: e.ids };
  });
  if (strategy === 'none') {
    const ignored = new Set(options.ignoreLabels ?? []);
    return perText.map(({ pieces }) =>
      pieces
        .map((t) => {
          const i = argMax(t.scores);
          return { word: t.word, entity: labels[i]!, score: t.scores[i]!, index: t.index };
        })
        .filter((t) => !ignored.has(t.entity)),
    );
  }
  return perText.map(({ pieces, ids }) => {
    const decode = (group: readonly TokenScores[]): string => ctx.tokenizer.decode(group.map((p) => ids[p.index]!), { skipSpecialTokens: false, cleanUpTokenizationSpaces: false });
    return aggregateTokenScores(pieces, labels, strategy as GroupingStrategy, decode, options.ignoreLabels ?? ['O']);
  });
}

/** One candidate for a mask. */
export interface MaskFill {
  /** The text with this mask filled by {@link MaskFill.token} (other masks of the text keep their best token). */
  readonly sequence: string;
  readonly token: number;
  readonly tokenStr: string;
  readonly score: number;
}

/** Options of fill-mask. */
export interface FillMaskOptions {
  /** Candidates per mask (default 5). */
  readonly topK?: number;
  /** Truncate inputs to this many tokens (default: min(512, the model's positions)). */
  readonly maxLength?: number;
}

/**
 * Fill-mask with a masked-LM head: per text, per mask token (in order), the `topK` most probable tokens.
 * @throws AdapterKitError `PIPELINE_INPUT` for a text without the tokenizer's mask token.
 */
export function fillMasks(ctx: PipelineContext, texts: readonly string[], options: FillMaskOptions = {}): MaskFill[][][] {
  requireHead(ctx.model, ctx.head, 'fill-mask', ['masked_lm']);
  const mask = ctx.tokenizer.maskTokenId;
  if (mask === undefined) throw new AdapterKitError('PIPELINE_INPUT', 'fill-mask: the tokenizer has no mask token');
  const maskStr = ctx.tokenizer.idToToken(mask) ?? '[MASK]';
  const limits = hostLimits(ctx.model);
  const maxLength = maxLengthOf(limits, options.maxLength);
  const topK = positiveInt(options.topK, 5, 'topK');
  const known = Math.min(ctx.tokenizer.vocabSize, ctx.model.info.vocabSize);
  return texts.map((text, t) => {
    const e = ctx.tokenizer.encode(text, null, { maxLength, truncation: true });
    const positions = e.ids.flatMap((id, j) => (id === mask ? [j] : []));
    if (positions.length === 0) throw new AdapterKitError('PIPELINE_INPUT', `fill-mask: text ${t} has no ${maskStr} token`);
    const { values, indices } = tf.tidy(() => {
      const row = { inputIds: [e.ids], attentionMask: [e.attentionMask], tokenTypeIds: [e.tokenTypeIds] };
      const logits = forwardWithHeads(ctx.model, batchInputs(row, limits), { head: ctx.head! }).logits;
      const at = tf.gather(tf.squeeze(tf.slice(logits, [0, 0, 0], [1, -1, known]), [0]), positions); // [masks, known]
      const top = tf.topk(tf.softmax(at), Math.min(topK, known));
      return { values: top.values.arraySync() as number[][], indices: top.indices.arraySync() as number[][] };
    });
    const filled = [...e.ids];
    positions.forEach((j, m) => (filled[j] = indices[m]![0]!));
    return positions.map((j, m) =>
      indices[m]!.map((token, k) => {
        const ids = [...filled];
        ids[j] = token;
        return { sequence: ctx.tokenizer.decode(ids), token, tokenStr: ctx.tokenizer.idToToken(token) ?? String(token), score: values[m]![k]! };
      }),
    );
  });
}

/** Options of text generation. */
export interface TextGenerationOptions extends SamplingOptions {
  /** Tokens to generate at most (default 20). */
  readonly maxNewTokens?: number;
  /** Strings that end the text once generated. */
  readonly stopStrings?: readonly string[];
  /** Seed of sampling (default 0). */
  readonly seed?: number;
}

/** One generated text. */
export interface GeneratedText {
  /** Prompt + continuation. */
  readonly generatedText: string;
  /** The continuation alone. */
  readonly continuation: string;
  readonly finishReason: 'stop_token' | 'stop_string' | 'length';
}

/**
 * Text generation on a decoder host (GPT-2, Llama, Qwen2) with `@adapterkit/generate` (key/value cache, greedy or
 * sampled), with the active adapters; stops at the tokenizer's end-of-sequence token.
 * @throws CapabilityError `NOT_A_DECODER` on encoder hosts.
 */
export function generateTexts(ctx: PipelineContext, texts: readonly string[], options: TextGenerationOptions = {}): GeneratedText[] {
  const tok = ctx.tokenizer;
  const prompts = texts.map((t) => {
    const ids = tok.encode(t, null, { addSpecialTokens: false }).ids;
    if (ids.length === 0 && tok.bosTokenId !== undefined) ids.push(tok.bosTokenId);
    return ids;
  });
  const { maxNewTokens, stopStrings, seed, ...sampling } = options;
  const eos = tok.eosTokenId;
  const result = generate(ctx.model, prompts, {
    ...sampling,
    ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(stopStrings ? { stopStrings } : {}),
    ...(eos !== undefined ? { stopTokens: [eos] } : {}),
    ...(tok.padTokenId !== undefined ? { padTokenId: tok.padTokenId } : {}),
    decode: (ids) => tok.decode([...ids]),
  });
  return texts.map((prompt, i) => {
    const continuation = result.text![i]!;
    return { generatedText: prompt + continuation, continuation, finishReason: result.finishReasons[i]! };
  });
}
