import { AdapterKitError } from '@adapterkit/core';
import type { TextExample } from '../datasets/example';
import type { PaddingStrategy } from '../tokenizer/encoded-batch';
import type { EncodeBatchOptions, TextInput, Tokenizer } from '../tokenizer/tokenizer';

/** A text or a {@link TextExample} (its `text`/`textPair` are used). */
export type TextLike = string | TextExample;

/** The tokenizer input of an example: its text, or `[text, textPair]`. */
export function textInput(x: TextLike, index: number): TextInput {
  if (typeof x === 'string') return x;
  if (typeof x !== 'object' || x === null || typeof x.text !== 'string') {
    throw new AdapterKitError('BAD_EXAMPLE', `example ${index} is neither a string nor an object with a string "text"`);
  }
  return x.textPair === undefined ? x.text : [x.text, x.textPair];
}

/** Throws if a collator was given no examples. */
export function checkNonEmpty(examples: readonly unknown[], who: string): void {
  if (!Array.isArray(examples) || examples.length === 0) throw new AdapterKitError('BAD_EXAMPLE', `${who}: a batch needs at least one example`);
}

/** Padding and truncation options shared by the collators. */
export interface CollatorEncodeOptions {
  /** Truncate to this many tokens (special tokens included); default: the tokenizer's `model_max_length`, if any. */
  readonly maxLength?: number;
  /** Default `'longest'` (dynamic padding to the longest example of the batch). */
  readonly padding?: PaddingStrategy;
  /** Round the padded length up to a multiple of this. */
  readonly padToMultipleOf?: number;
}

/** `encodeBatch` options of a collator: truncate when a length limit is known, pad to the longest by default. */
export function collatorEncodeOptions(tokenizer: Tokenizer, o: CollatorEncodeOptions): EncodeBatchOptions {
  const maxLength = o.maxLength ?? tokenizer.modelMaxLength;
  return {
    ...(maxLength === undefined ? {} : { maxLength, truncation: true }),
    padding: o.padding ?? 'longest',
    ...(o.padToMultipleOf === undefined ? {} : { padToMultipleOf: o.padToMultipleOf }),
  };
}
