import { AdapterKitError } from '@adapterkit/core';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { collated, IGNORE_INDEX, type CollatedBatch } from './batch';
import { checkNonEmpty, collatorEncodeOptions, textInput, type CollatorEncodeOptions, type TextLike } from './inputs';

/** Options of {@link causalLmCollator}. */
export type CausalLmCollatorOptions = CollatorEncodeOptions;

/**
 * A collator for causal-LM training (GPT-2): tokenizes, pads to the longest example and uses the input ids as
 * labels, −100 at padding (the model or loss shifts them by one, as transformers does). A tokenizer without a pad
 * token (GPT-2) pads with its eos token; padding never enters the loss since its label is −100.
 */
export function causalLmCollator(tokenizer: Tokenizer, options: CausalLmCollatorOptions = {}): (examples: readonly TextLike[]) => CollatedBatch {
  let tok = tokenizer;
  if (tok.padTokenId === undefined) {
    const eos = tok.specialTokens.eos;
    if (eos === undefined) throw new AdapterKitError('NO_PAD_TOKEN', 'causalLmCollator needs a tokenizer with a pad or an eos token');
    tok = tok.withSpecialTokens({ pad: eos.token });
  }
  const encodeOptions = collatorEncodeOptions(tok, options);
  return (examples) => {
    checkNonEmpty(examples, 'causalLmCollator');
    const batch = tok.encodeBatch(examples.map(textInput), encodeOptions);
    const labels = batch.inputIds.map((row, i) => row.map((id, j) => (batch.attentionMask[i]![j] === 1 ? id : IGNORE_INDEX)));
    return collated(batch, labels);
  };
}
