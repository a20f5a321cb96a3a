/**
 * `@adapterkit/data`: tokenizers, datasets and collators for training adapters, plus embedded task datasets — all
 * offline.
 *
 * - Tokenizers: Hugging Face `tokenizer.json` (WordPiece/BERT, BPE, byte-level BPE/GPT-2/RoBERTa, and what
 *   `@huggingface/tokenizers` reads besides), with batch encoding of texts and pairs, truncation, padding and int32
 *   `[batch, seq]` tensors; a WordPiece trainer; saving in the layout `tokenizers`/transformers load.
 * - Datasets: in-memory and streaming JSONL/CSV readers, seeded splits and batches, label maps.
 * - Collators: classification, masked LM (80/10/10) and causal LM, padding to the longest example.
 * - Embedded task datasets (SpamAssassin spam/ham, UDHR language identification) and an English corpus are in
 *   `@adapterkit/datasets` (Node), kept apart so that a tokenizer installs without 149 MB of corpora.
 *
 * ```ts
 * const spam = await loadEmbeddedDataset('spam'); // from '@adapterkit/datasets'
 * const tokenizer = trainWordPiece(spam.train.map((x) => x.text), { vocabSize: 8000 });
 * const collate = classificationCollator(tokenizer, { maxLength: 256, labelMap: spam.labels });
 * for (const examples of batches(spam.train, { batchSize: 16, shuffle: true })) {
 *   const { inputs, labels } = collate(examples).toTensors(); // int32 [16, seq] / [16]
 * }
 * ```
 *
 * @packageDocumentation
 */
export { Tokenizer, type TextInput, type EncodeOptions, type EncodeBatchOptions, type Encoding, type DecodeOptions, type TokenizerOptions } from './tokenizer/tokenizer';
export { EncodedBatch, type BatchTensors, type PaddingStrategy } from './tokenizer/encoded-batch';
export { loadTokenizer } from './tokenizer/load';
export { saveTokenizer } from './tokenizer/save';
export { trainWordPiece, type TrainWordPieceOptions } from './tokenizer/train-wordpiece';
export { bertTokenizerJson, bertTokenizerConfig, BERT_SPECIAL_TOKENS, type BertJsonOptions, type BertSpecialTokens } from './tokenizer/bert-json';
export type { TruncationStrategy } from './tokenizer/truncate';
export type { SpecialToken, SpecialTokens, SpecialTokenOverrides } from './tokenizer/special-tokens';
export {
  SPECIAL_ROLES,
  type SpecialRole,
  type TokenizerJson,
  type TokenizerConfigJson,
  type AddedTokenJson,
  type ModelJson,
  type PostProcessorJson,
  type TemplatePieceJson,
  type TemplateSpecialTokenJson,
  type SpecialTokenValue,
} from './tokenizer/schema';

export type { TextExample } from './datasets/example';
export { InMemoryDataset } from './datasets/in-memory';
export type { ColumnOptions } from './datasets/columns';
export { splitDataset, type SplitOptions, type Splits } from './datasets/split';
export { permutation } from './datasets/shuffle';
export { batches, streamBatches, type BatchOptions } from './datasets/batches';
export { LabelMap, type LabelMapJson } from './datasets/label-map';

export { IGNORE_INDEX, type CollatedBatch, type CollatedTensors } from './collators/batch';
export type { TextLike, CollatorEncodeOptions } from './collators/inputs';
export { classificationCollator, type ClassificationCollatorOptions } from './collators/classification';
export { maskedLmCollator, maskingReplacementIds, maskTokens, type MaskedLmCollatorOptions, type MaskingSpec } from './collators/masked-lm';
export { causalLmCollator, type CausalLmCollatorOptions } from './collators/causal-lm';
export { toTrainingExamples, type TrainingExample, type TrainingExampleOptions } from './collators/training';

