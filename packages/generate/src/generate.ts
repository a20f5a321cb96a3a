import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, CapabilityError, Rng, type AdapterModel } from '@adapterkit/core';
import { KVCache } from './cache';
import { checkSampling, pickToken, type SamplingOptions } from './sampling';

/** Options of {@link generate} / {@link generateStream}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most per prompt (default 20). */
  readonly maxNewTokens?: number;
  /** Token ids that end a row (e.g. `eos_token_id`); the stop token is part of the output. */
  readonly stopTokens?: readonly number[];
  /** Strings that end a row once its decoded continuation contains one (needs `decode`). */
  readonly stopStrings?: readonly string[];
  /** Token ids → text, for `stopStrings` and the `text` of the result (e.g. a tokenizer's `decode`). */
  readonly decode?: (ids: readonly number[]) => string;
  /** Id used for left padding of shorter prompts (default: the first stop token, else 0). Never attended. */
  readonly padTokenId?: number;
  /** Reuse keys/values of earlier positions (default true); false recomputes the whole sequence each step. */
  readonly useCache?: boolean;
  /** Seed of the sampling stream (default 0). */
  readonly seed?: number;
  /** Called after every step with the token of each row (undefined for rows already finished). */
  readonly onToken?: (event: GenerationStep) => void;
}

/** One decoding step: the new token of each row (undefined where the row had already finished). */
export interface GenerationStep {
  readonly step: number;
  readonly tokens: ReadonlyArray<number | undefined>;
}

/** Why a row stopped. */
export type FinishReason = 'stop_token' | 'stop_string' | 'length';

/** Result of {@link generate}. */
export interface GenerationResult {
  /** Generated token ids per prompt (without the prompt and without padding). */
  readonly tokens: number[][];
  readonly finishReasons: FinishReason[];
  /** `decode(tokens[i])`, when `decode` was given. */
  readonly text?: string[];
}

function validate(model: AdapterModel, prompts: readonly (readonly number[])[], o: GenerateOptions): void {
  const bad = (what: string): never => {
    throw new AdapterConfigError('BAD_GENERATION_OPTION', what);
  };
  if (model.info.isDecoder !== true) {
    throw new CapabilityError('NOT_A_DECODER', `generation needs a decoder host (gpt2, llama, qwen2); the ${model.info.modelType} host attends in both directions`);
  }
  if (prompts.length === 0) bad('no prompts');
  prompts.forEach((p, i) => {
    if (p.length === 0) bad(`prompt ${i} is empty`);
    p.forEach((t, j) => {
      if (!Number.isInteger(t) || t < 0 || t >= model.info.vocabSize) bad(`prompt ${i} position ${j}: token id ${t} is outside the vocabulary [0, ${model.info.vocabSize})`);
    });
  });
  if (o.maxNewTokens !== undefined && !(Number.isInteger(o.maxNewTokens) && o.maxNewTokens >= 0)) bad(`maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  if (o.stopStrings?.length && !o.decode) bad('stopStrings need a decode function');
  checkSampling(o);
}

/**
 * Decode step by step: yields each step's tokens and returns the result. Prompts are left-padded to one length
 * (mask 0 on the padding; position ids `cumsum(mask) − 1`, as transformers' `generate`), so a batched prompt gives
 * the same tokens as the same prompt alone. Adapters active on the model (LoRA, prefix tuning, bottleneck, ...)
 * act on every step; with the cache, prefix tuning prepends its prefix to the cached keys on each step.
 *
 * @param model - An {@link AdapterModel} over a decoder host (`info.isDecoder`).
 * @param prompts - Token ids per prompt.
 * @throws AdapterConfigError `BAD_GENERATION_OPTION` for invalid options or token ids (before any work);
 *   CapabilityError `NOT_A_DECODER` for an encoder host.
 */
export function* generateSteps(model: AdapterModel, prompts: readonly (readonly number[])[], options: GenerateOptions = {}): Generator<GenerationStep, GenerationResult> {
  validate(model, prompts, options);
  const o = options;
  const maxNew = o.maxNewTokens ?? 20;
  const stopTokens = new Set(o.stopTokens ?? []);
  const pad = o.padTokenId ?? o.stopTokens?.[0] ?? 0;
  const useCache = o.useCache ?? true;
  const rng = new Rng(o.seed ?? 0);
  const B = prompts.length;
  const L = Math.max(...prompts.map((p) => p.length));
  // Row state: full ids (left-padded), mask, generated tokens.
  const ids = prompts.map((p) => [...Array<number>(L - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [...Array<number>(L - p.length).fill(0), ...Array<number>(p.length).fill(1)]);
  const out: number[][] = prompts.map(() => []);
  const reasons: Array<FinishReason | undefined> = prompts.map(() => undefined);
  const positionsOf = (row: readonly number[]): number[] => {
    let c = -1;
    return row.map((m) => (m === 1 ? ++c : 1));
  };
  const cache = useCache ? new KVCache() : undefined;
  try {
    for (let step = 0; step < maxNew && reasons.some((r) => r === undefined); step++) {
      // With the cache, only the new positions go in (all of the prompt on the first step).
      const from = cache && step > 0 ? ids[0]!.length - 1 : 0;
      const logits = tf.tidy(() => {
        const S = ids[0]!.length - from;
        const inputIds = tf.tensor2d(ids.map((r) => r.slice(from)), [B, S], 'int32');
        const attentionMask = tf.tensor2d(mask, [B, ids[0]!.length], 'int32');
        const positionIds = tf.tensor2d(mask.map((r) => positionsOf(r).slice(from)), [B, S], 'int32');
        return model.forwardWith({ inputIds, attentionMask, positionIds }, { lmLogits: true, ...(cache ? { cache } : {}) }, (outs) => {
          if (!outs.logits) throw new CapabilityError('NO_LM_HEAD', `the ${model.info.modelType} host computes no LM logits`);
          const V = outs.logits.shape[2];
          return tf.reshape(tf.slice(outs.logits, [0, S - 1, 0], [B, 1, V]), [B, V]);
        });
      });
      const data = logits.dataSync() as Float32Array;
      const V = logits.shape[1]!;
      logits.dispose();
      const tokens: Array<number | undefined> = [];
      for (let b = 0; b < B; b++) {
        if (reasons[b] !== undefined) {
          tokens.push(undefined);
          ids[b]!.push(pad);
          mask[b]!.push(0);
          continue;
        }
        const seen = ids[b]!.filter((_, j) => mask[b]![j] === 1);
        const t = pickToken(data.slice(b * V, (b + 1) * V), seen, o, rng);
        tokens.push(t);
        ids[b]!.push(t);
        mask[b]!.push(1);
        out[b]!.push(t);
        if (stopTokens.has(t)) reasons[b] = 'stop_token';
        else if (o.stopStrings?.length && o.decode) {
          const text = o.decode(out[b]!);
          if (o.stopStrings.some((s) => text.includes(s))) reasons[b] = 'stop_string';
        }
      }
      const event = { step, tokens };
      o.onToken?.(event);
      yield event;
    }
  } finally {
    cache?.dispose();
  }
  const finishReasons = reasons.map((r) => r ?? 'length');
  return { tokens: out, finishReasons, ...(o.decode ? { text: out.map((t) => o.decode!(t)) } : {}) };
}

/** Generate continuations of `prompts` (see {@link generateSteps} for padding, positions and adapters). */
export function generate(model: AdapterModel, prompts: readonly (readonly number[])[], options: GenerateOptions = {}): GenerationResult {
  const it = generateSteps(model, prompts, options);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Streaming generation as an async iterator of steps (each step yields to the event loop first, so a consumer
 * can print tokens as they come); the final result is the iterator's return value.
 *
 * ```ts
 * for await (const { tokens } of generateStream(model, [ids], { maxNewTokens: 32 })) process.stdout.write(decode([tokens[0]!]));
 * ```
 */
export async function* generateStream(model: AdapterModel, prompts: readonly (readonly number[])[], options: GenerateOptions = {}): AsyncGenerator<GenerationStep, GenerationResult> {
  const it = generateSteps(model, prompts, options);
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const r = it.next();
    if (r.done) return r.value;
    yield r.value;
  }
}
