/**
 * `@adapterkit/models`: Transformer hosts (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, GPT-2, Llama, Qwen2) built from tfjs-core ops, loading
 * Hugging Face checkpoints (`config.json` + `model.safetensors`) and reproducing transformers 4.26 numerics.
 *
 * Shapes: inputs are int32 `[batch, seq]`; `lastHiddenState` is `[batch, seq, hidden]`, `poolerOutput`
 * `[batch, hidden]` (BERT family), `logits` `[batch, seq, vocab]` (GPT-2 with `lmLogits`). Every parameter is a
 * `tf.Variable` under its HF name (nn.Linear weights transposed to `[in, out]` in memory; see
 * {@link ModelHost.transposed} and {@link ModelHost.exportWeights}).
 *
 * ```ts
 * const host = await loadHost('models/bert');
 * const out = tf.tidy(() => host.forward({ inputIds, attentionMask }, NO_HOOKS, { training: false }));
 * ```
 *
 * @packageDocumentation
 */
export type { ModelHost, ModelHostInfo } from './base';
export type { Architecture } from './architecture';
export { ARCHITECTURES, architectureOf } from './registry';
export { BertHost, BERT_ARCHITECTURE, BERT_HOOK_POINTS, bertModulePath } from './bert';
export { Gpt2Host, GPT2_ARCHITECTURE, GPT2_HOOK_PLACEMENT, GPT2_HOOK_POINTS, gpt2ModulePath } from './gpt2';
export { DistilBertHost, DISTILBERT_ARCHITECTURE, distilbertModulePath } from './distilbert';
export { LlamaHost, LLAMA_ARCHITECTURE, LLAMA_HOOK_POINTS, llamaModulePath, rmsNorm, ropeInverseFrequencies } from './llama';
export {
  maxSequenceLength,
  parseConfig,
  positionOffset,
  readConfig,
  SUPPORTED_MODEL_TYPES,
  type ModelConfig,
  type ModelType,
  type RopeScaling,
} from './config';
export { createHost, initHost, loadHost } from './load';
export { CHECKPOINT_WEIGHT_FILES, readCheckpointWeights, type CheckpointWeights } from './checkpoint-weights';
export { baseModelPrefixOf, expectedWeights, ParameterStore, WeightList, type WeightInit, type WeightSpec } from './weights';
export {
  FileFormatError,
  WeightsMismatchError,
  type WeightMismatch,
  type WeightsMismatchDetails,
} from './core';
