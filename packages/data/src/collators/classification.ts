import { AdapterKitError } from '@adapterkit/core';
import type { TextExample } from '../datasets/example';
import type { LabelMap } from '../datasets/label-map';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { collated, type CollatedBatch } from './batch';
import { checkNonEmpty, collatorEncodeOptions, textInput, type CollatorEncodeOptions } from './inputs';

/** Options of {@link classificationCollator}. */
export interface ClassificationCollatorOptions extends CollatorEncodeOptions {
  /** Maps string labels to ids (required when labels are names). */
  readonly labelMap?: LabelMap;
}

/** The class id of an example's label. */
export function labelId(example: TextExample, index: number, labelMap: LabelMap | undefined): number {
  const label = example.label;
  if (label === undefined) throw new AdapterKitError('BAD_EXAMPLE', `example ${index}${example.id ? ` (${example.id})` : ''} has no label`);
  if (labelMap !== undefined) return labelMap.id(label);
  if (typeof label === 'number' && Number.isInteger(label) && label >= 0) return label;
  throw new AdapterKitError('BAD_EXAMPLE', `example ${index}: label ${JSON.stringify(label)} is not a class id; pass a labelMap`);
}

/**
 * A collator for sequence classification: tokenizes texts (or text pairs), truncates, pads to the longest example
 * and returns int32 class ids `[batch]` as labels.
 *
 * ```ts
 * const collate = classificationCollator(tokenizer, { maxLength: 256, labelMap: spam.labels });
 * const { inputs, labels } = collate(examples).toTensors();
 * ```
 */
export function classificationCollator(tokenizer: Tokenizer, options: ClassificationCollatorOptions = {}): (examples: readonly TextExample[]) => CollatedBatch {
  return (examples) => {
    checkNonEmpty(examples, 'classificationCollator');
    const labels = examples.map((e, i) => labelId(e, i, options.labelMap));
    return collated(tokenizer.encodeBatch(examples.map(textInput), collatorEncodeOptions(tokenizer, options)), labels);
  };
}
