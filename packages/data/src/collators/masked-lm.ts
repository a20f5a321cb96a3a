import { AdapterKitError, Rng } from '@adapterkit/core';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { collated, IGNORE_INDEX, type CollatedBatch } from './batch';
import { checkNonEmpty, collatorEncodeOptions, textInput, type CollatorEncodeOptions, type TextLike } from './inputs';

/** Options of {@link maskedLmCollator}. */
export interface MaskedLmCollatorOptions extends CollatorEncodeOptions {
  /** Probability that a (non-special, non-padding) token is selected for prediction; default 0.15 (BERT). */
  readonly mlmProbability?: number;
  /** Seed of the masking stream; default 42. */
  readonly seed?: number;
}

/** What {@link maskTokens} needs besides the batch. */
export interface MaskingSpec {
  readonly maskTokenId: number;
  /** Ids a selected token may be replaced with at random (the non-special vocabulary). */
  readonly randomIds: readonly number[];
  readonly probability: number;
  readonly rng: Rng;
}

/**
 * BERT's masking (transformers' `DataCollatorForLanguageModeling.torch_mask_tokens`): each position whose
 * `specialTokensMask` is 0 is selected with `probability`; a selected token becomes the mask token (80%), a random
 * non-special token (10%) or stays (10%); its label is the original id. Unselected positions, special tokens and
 * padding get label −100.
 *
 * @returns New `inputIds` and `labels`, both `[batch][seq]`.
 */
export function maskTokens(
  inputIds: readonly (readonly number[])[],
  specialTokensMask: readonly (readonly number[])[],
  spec: MaskingSpec,
): { inputIds: number[][]; labels: number[][] } {
  const ids = inputIds.map((r) => [...r]);
  const labels = inputIds.map((r) => r.map(() => IGNORE_INDEX));
  ids.forEach((row, i) => {
    for (let j = 0; j < row.length; j++) {
      if (specialTokensMask[i]![j] !== 0) continue;
      if (spec.rng.next() >= spec.probability) continue;
      labels[i]![j] = row[j]!;
      const r = spec.rng.next();
      if (r < 0.8) row[j] = spec.maskTokenId;
      else if (r < 0.9) row[j] = spec.randomIds[Math.floor(spec.rng.next() * spec.randomIds.length)]!;
    }
  });
  return { inputIds: ids, labels };
}

/** The ids BERT's 80/10/10 rule may swap in for a selected token: every id with a token that is not special. */
export function maskingReplacementIds(tokenizer: Tokenizer): number[] {
  const ids: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) if (!tokenizer.specialIds.has(id) && tokenizer.idToToken(id) !== undefined) ids.push(id);
  return ids;
}

/**
 * A collator for masked-LM training (BERT/RoBERTa): tokenizes, pads to the longest example and masks with the
 * 80/10/10 rule ({@link maskTokens}); special tokens and padding are never selected. Labels are int32
 * `[batch, seq]` with −100 where no prediction is made. The collator owns a seeded random stream: the same seed and
 * the same sequence of batches give the same masks.
 */
export function maskedLmCollator(tokenizer: Tokenizer, options: MaskedLmCollatorOptions = {}): (examples: readonly TextLike[]) => CollatedBatch {
  const maskTokenId = tokenizer.maskTokenId;
  if (maskTokenId === undefined) throw new AdapterKitError('NO_MASK_TOKEN', 'maskedLmCollator needs a tokenizer with a mask token');
  if (tokenizer.padTokenId === undefined) throw new AdapterKitError('NO_PAD_TOKEN', 'maskedLmCollator needs a tokenizer with a pad token');
  const probability = options.mlmProbability ?? 0.15;
  if (!(probability >= 0 && probability <= 1)) throw new AdapterKitError('BAD_OPTION', `mlmProbability must be in [0, 1], got ${probability}`);
  const spec: MaskingSpec = { maskTokenId, randomIds: maskingReplacementIds(tokenizer), probability, rng: new Rng(options.seed ?? 42) };
  const encodeOptions = collatorEncodeOptions(tokenizer, options);
  return (examples) => {
    checkNonEmpty(examples, 'maskedLmCollator');
    const batch = tokenizer.encodeBatch(examples.map(textInput), encodeOptions);
    const masked = maskTokens(batch.inputIds, batch.specialTokensMask, spec);
    return collated(batch, masked.labels, masked.inputIds);
  };
}
