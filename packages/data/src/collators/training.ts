import type { TextExample } from '../datasets/example';
import type { LabelMap } from '../datasets/label-map';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { labelId } from './classification';
import { textInput } from './inputs';

/**
 * One tokenized example in the shape `@adapterkit/training`'s `train({ trainData })` takes (it pads each batch
 * itself).
 */
export interface TrainingExample {
  readonly inputIds: number[];
  readonly attentionMask: number[];
  /** Present when {@link TrainingExampleOptions.tokenTypeIds} is on. */
  readonly tokenTypeIds?: number[];
  /** Class id (absent when the example has no label). */
  readonly labels?: number;
}

/** Options of {@link toTrainingExamples}. */
export interface TrainingExampleOptions {
  /** Truncate to this many tokens; default: the tokenizer's `model_max_length`, if any. */
  readonly maxLength?: number;
  /** Maps string labels to class ids. */
  readonly labelMap?: LabelMap;
  /**
   * Emit `tokenTypeIds`. Default: {@link Tokenizer.returnsTokenTypeIds}, i.e. on for BERT-style post-processing
   * (BertProcessing, a TemplateProcessing with type ids) and off for ByteLevel / RobertaProcessing, as transformers'
   * tokenizers return them. Keep them off for GPT-2 hosts: like HF's GPT-2 they embed given type ids with the word
   * embeddings (`wte[tokenTypeIds]`), so even all-zero type ids change the output.
   */
  readonly tokenTypeIds?: boolean;
}

/**
 * Tokenizes classification examples (truncated, unpadded) for `train()` of `@adapterkit/training`:
 *
 * ```ts
 * const trainData = toTrainingExamples(tokenizer, spam.train, { maxLength: 256, labelMap: spam.labels });
 * await train(model, { adapter: 'spam', trainData, ... });
 * ```
 */
export function toTrainingExamples(tokenizer: Tokenizer, examples: Iterable<TextExample>, options: TrainingExampleOptions = {}): TrainingExample[] {
  const maxLength = options.maxLength ?? tokenizer.modelMaxLength;
  const encodeOptions = maxLength === undefined ? {} : { maxLength, truncation: true };
  const withTypes = options.tokenTypeIds ?? tokenizer.returnsTokenTypeIds;
  return Array.from(examples, (e, i) => {
    const input = textInput(e, i);
    const enc = typeof input === 'string' ? tokenizer.encode(input, null, encodeOptions) : tokenizer.encode(input[0], input[1], encodeOptions);
    const base = { inputIds: enc.ids, attentionMask: enc.attentionMask, ...(withTypes ? { tokenTypeIds: enc.tokenTypeIds } : {}) };
    return e.label === undefined ? base : { ...base, labels: labelId(e, i, options.labelMap) };
  });
}
