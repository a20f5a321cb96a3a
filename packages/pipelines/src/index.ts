/**
 * `@adapterkit/pipelines`: the high-level API, in the style of transformers' `pipeline()` and `from_pretrained`.
 *
 * - {@link loadPretrained} / {@link loadEmbedded}: a base model (`AdapterModel` with every adapter method installed)
 *   and its tokenizer from one folder, URL, Hub id or the embedded model (`@adapterkit/bert-mini`).
 * - {@link pipeline}: `'text-classification'`, `'token-classification'`, `'fill-mask'`, `'text-generation'` with an
 *   adapter (and its head) by folder or name; results are plain arrays (labels and scores, tags, candidates, text).
 * - {@link forwardArrays} / {@link disposeOutputs}: `AdapterModel.forward`'s tensors belong to the caller (dispose
 *   them); these read them back as arrays or free them for you.
 *
 * ```ts
 * import { initBackend } from '@adapterkit/backends';
 * import { loadEmbedded, pipeline } from '@adapterkit/pipelines';
 *
 * await initBackend();
 * const { model, tokenizer } = await loadEmbedded();
 * model.addAdapter('sentiment', 'lora[r=8,alpha=16]');
 * const { lastHiddenState } = model.forward(tokenizer.encodeBatch(['a first text', 'a second one'])); // [2, seq, 256]
 * lastHiddenState.dispose(); // tensors you receive are yours to dispose
 * const classify = await pipeline('text-classification', { model: 'embedded', adapter: 'out/sentiment' });
 * console.log(await classify('What a lovely day')); // [{ label: 'positive', score: 0.97 }]
 * ```
 *
 * @packageDocumentation
 */
export { loadPretrained, loadEmbedded, resolvePretrainedSource, DEFAULT_HUB_ENDPOINT, type LoadPretrainedOptions, type Pretrained, type PretrainedSource } from './load';
export { ALL_METHODS } from './methods';
export { useAdapter, type AdapterSelection, type ActiveSelection } from './adapters';
export {
  pipeline,
  PIPELINE_TASKS,
  CHECKPOINT_MLM_HEAD,
  type PipelineTask,
  type PipelineOptions,
  type PipelineByTask,
  type TextClassificationPipeline,
  type TokenClassificationPipeline,
  type FillMaskPipeline,
  type TextGenerationPipeline,
} from './pipeline';
export {
  classifyTexts,
  tagTexts,
  aggregateTokenScores,
  fillMasks,
  generateTexts,
  type PipelineContext,
  type LabelScore,
  type TextClassificationOptions,
  type TokenTag,
  type TokenClassificationOptions,
  type AggregationStrategy,
  type GroupingStrategy,
  type EntityGroup,
  type TokenScores,
  type MaskFill,
  type FillMaskOptions,
  type GeneratedText,
  type TextGenerationOptions,
} from './tasks';
export { loadCheckpointMaskedLmHead } from './mlm-head';
export { forwardArrays, disposeOutputs, type ForwardArrays } from './forward';
