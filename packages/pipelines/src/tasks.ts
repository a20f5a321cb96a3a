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

/** Options of token classification. */
export interface TokenClassificationOptions {
  /** Truncate inputs to this many tokens (default: min(512, the model's positions)). */
  readonly maxLength?: number;
}

/** Token classification with a tagging head: per text, each non-special token with its most probable tag. */
export function tagTexts(ctx: PipelineContext, texts: readonly string[], options: TokenClassificationOptions = {}): TokenTag[][] {
  const config = requireHead(ctx.model, ctx.head, 'token-classification', ['tagging']);
  const labels = headLabels(config, config.numLabels ?? 0);
  const limits = hostLimits(ctx.model);
  const maxLength = maxLengthOf(limits, options.maxLength);
  return texts.map((text) => {
    const e = ctx.tokenizer.encode(text, null, { maxLength, truncation: true });
    const [best, score] = tf.tidy(() => {
      const row = { inputIds: [e.ids], attentionMask: [e.attentionMask], tokenTypeIds: [e.tokenTypeIds] };
      const p = tf.softmax(forwardWithHeads(ctx.model, batchInputs(row, limits), { head: ctx.head! }).logits);
      return [tf.argMax(p, -1).arraySync() as number[][], tf.max(p, -1).arraySync() as number[][]] as const;
    });
    return e.ids.flatMap((_, j) => (e.specialTokensMask[j] ? [] : [{ word: e.tokens[j]!, entity: labels[best[0]![j]!]!, score: score[0]![j]!, index: j }]));
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
