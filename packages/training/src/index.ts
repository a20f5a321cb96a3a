/**
 * `@adapterkit/training`: prediction heads in AdapterHub's flex-head layout (`heads.<name>.<i>.*`,
 * `head_config.json`) and the training harness (AdamW, schedules, clipping, accumulation, metrics, early stopping,
 * resumable checkpoints). Heads live beside the model in a per-model {@link HeadRegistry}; every operation is a
 * function taking the model, so `@adapterkit/core` stays head-free.
 *
 * ```ts
 * import { AdapterModel } from '@adapterkit/core';
 * import { initBackend } from '@adapterkit/backends';
 * import { addClassificationHead, train } from '@adapterkit/training';
 * const model = new AdapterModel(host, { methods: [...bottleneckPlugins] });
 * model.addAdapter('sst2', 'pfeiffer');
 * addClassificationHead(model, 'sst2', { numLabels: 2 });
 * await train(model, { adapter: 'sst2', trainData, evalData, epochs: 3, lr: 1e-4 });
 * ```
 *
 * @packageDocumentation
 */
export { HEAD_TYPES, isLmHead, defaultLabel2id, headConfigFromJson, headConfigToJson, validateHeadConfig, type HeadConfig, type HeadType } from './heads/config';
export { headModules, hostHyper, type HeadModule, type HostHyper } from './heads/layout';
export { PredictionHead, type HeadForwardOptions } from './heads/head';
export { HeadRegistry, getHeads, disposeHeads, headsFromComposition, type AddHeadOptions, type HeadSetup } from './heads/registry';
export {
  addClassificationHead,
  addMultipleChoiceHead,
  addTaggingHead,
  addMaskedLmHead,
  addCausalLmHead,
  type LinearHeadOptions,
  type ClassificationHeadOptions,
  type MultipleChoiceHeadOptions,
  type TaggingHeadOptions,
  type MaskedLmHeadOptions,
  type CausalLmHeadOptions,
  type Id2Label,
} from './heads/add';
export { forwardWithHeads, type HeadOutput, type HeadsForwardOptions, type HeadsForwardResult } from './heads/forward';
export {
  saveHead,
  loadHead,
  serializeHead,
  saveAdapterWithHead,
  loadAdapterWithHead,
  flexModelClass,
  headCompanion,
  HEAD_CONFIG_FILE,
  HEAD_WEIGHTS_FILE,
  HEAD_WEIGHTS_CANDIDATES,
  HEAD_WEIGHTS_BIN,
  type SaveHeadOptions,
  type LoadHeadOptions,
} from './heads/io';
export { crossEntropy, bceWithLogits, meanSquaredError, IGNORE_INDEX } from './losses';
export { AdamW, type AdamWOptions } from './train/adamw';
export { learningRate, type ScheduleName, type ScheduleOptions } from './train/schedule';
export { clipByGlobalNorm } from './train/clip';
export { accuracy, macroF1, matthewsCorrelation, perplexity, type MetricName } from './train/metrics';
export { collectTrainable, decays, type TrainableParam } from './train/params';
export { collate, epochOrder, isChoiceExample, type Batch, type Example, type ChoiceExample, type ChoiceInput, type TrainExample, type LabelKind } from './train/data';
export { listCheckpoints, readCheckpoint, CHECKPOINT_FILES, type EvalRecord, type TrainerState, type LoadedCheckpoint } from './train/checkpoint';
export { train, TrainingInterruptedError, type TrainOptions, type TrainResult, type TrainEvent, type GradientSource, type GradientContext, type MicroBatchGradients } from './train/trainer';
export { evaluate, type EvaluateOptions, type ScoringOptions, type LossFn } from './train/evaluate';
export { parityTrainStep, type TrainStepCheck } from './parity';

// for runners that compute a step's loss elsewhere (`@adapterkit/data-parallel`'s workers): the trainer's scoring
export { resolveScoring, batchLoss, type Scoring } from './train/evaluate';
