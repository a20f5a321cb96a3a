import type { AdapterModel } from '@adapterkit/core';
import { label2idFrom, type HeadConfig } from './config';
import type { PredictionHead } from './head';
import { getHeads, type AddHeadOptions } from './registry';

/** Label names by id: a list (`['neg', 'pos']`) or an id → name map. */
export type Id2Label = readonly string[] | Readonly<Record<number, string>>;

/** Options shared by the classification, multiple-choice and tagging heads (stacks of Dropout + Linear). */
export interface LinearHeadOptions extends AddHeadOptions {
  /** Linear layers: default 2 (classification, multiple choice), 1 (tagging). */
  readonly layers?: number;
  /** Activation between layers, default `'tanh'`; null for none. */
  readonly activationFunction?: string | null;
  /** Label (or choice) names by id (default `LABEL_<i>`). */
  readonly id2label?: Id2Label;
  /** Dropout before each Linear (default: the host's `hidden_dropout_prob`). */
  readonly dropoutProb?: number;
}

/** The config fields of a {@link LinearHeadOptions} with the reference's defaults. */
function linearHeadFields(o: LinearHeadOptions, defaultLayers: number): Pick<HeadConfig, 'layers' | 'activationFunction' | 'label2id' | 'dropoutProb'> {
  return {
    layers: o.layers ?? defaultLayers,
    activationFunction: o.activationFunction === undefined ? 'tanh' : o.activationFunction,
    label2id: o.id2label ? label2idFrom(o.id2label) : null,
    ...(o.dropoutProb !== undefined ? { dropoutProb: o.dropoutProb } : {}),
  };
}

/** Options of {@link addClassificationHead} (the reference's `add_classification_head`). */
export interface ClassificationHeadOptions extends LinearHeadOptions {
  /** Default 2. `1` = regression (MSE loss). */
  readonly numLabels?: number;
  /** Multi-label (sigmoid/BCE, head type `multilabel_classification`), default false. */
  readonly multilabel?: boolean;
  /** Read the pooler output instead of the first token (default false). */
  readonly usePooler?: boolean;
  /** Bias of the last layer, default true. */
  readonly bias?: boolean;
}

/**
 * Add a sequence-classification head: `[Dropout, Linear(h,h), act, Dropout, Linear(h,n)]` for layers=2 (keys
 * `heads.<name>.1.*`, `heads.<name>.4.*`) on the first token's hidden state `[B, H]` → logits `[B, n]`.
 */
export function addClassificationHead(model: AdapterModel, name: string, options: ClassificationHeadOptions = {}): PredictionHead {
  return getHeads(model).create(
    name,
    {
      headType: options.multilabel ? 'multilabel_classification' : 'classification',
      numLabels: options.numLabels ?? 2,
      ...linearHeadFields(options, 2),
      usePooler: options.usePooler ?? false,
      bias: options.bias ?? true,
    },
    options,
  );
}

/** Options of {@link addMultipleChoiceHead} (the reference's `add_multiple_choice_head`). */
export interface MultipleChoiceHeadOptions extends LinearHeadOptions {
  /** Choices per example, default 2. */
  readonly numChoices?: number;
  /** Read the pooler output instead of the first token (default false). */
  readonly usePooler?: boolean;
}

/**
 * Add a multiple-choice head: the classification layout with a last `Linear(h, 1)` (layers=2: keys
 * `heads.<name>.1.*`, `heads.<name>.4.*`) scoring each choice from its first token. Inputs are the choices flattened,
 * `[batch·num_choices, seq]` (the choices of an example in consecutive rows); logits are `[batch, num_choices]`; the
 * loss is cross-entropy over the choices with labels `[batch]` (index of the right choice).
 */
export function addMultipleChoiceHead(model: AdapterModel, name: string, options: MultipleChoiceHeadOptions = {}): PredictionHead {
  return getHeads(model).create(
    name,
    {
      headType: 'multiple_choice',
      numChoices: options.numChoices ?? 2,
      ...linearHeadFields(options, 2),
      usePooler: options.usePooler ?? false,
      bias: true,
    },
    options,
  );
}

/** Options of {@link addTaggingHead} (the reference's `add_tagging_head`). */
export interface TaggingHeadOptions extends LinearHeadOptions {
  /** Default 2. */
  readonly numLabels?: number;
}

/** Add a token-classification head: per-token logits `[B, S, n]`; its loss ignores padding and label −100. */
export function addTaggingHead(model: AdapterModel, name: string, options: TaggingHeadOptions = {}): PredictionHead {
  return getHeads(model).create(
    name,
    {
      headType: 'tagging',
      numLabels: options.numLabels ?? 2,
      ...linearHeadFields(options, 1),
      bias: true,
    },
    options,
  );
}

/** Options of {@link addMaskedLmHead}. */
export interface MaskedLmHeadOptions extends AddHeadOptions {
  /** Default `'gelu'`. */
  readonly activationFunction?: string | null;
  /** Default 2. */
  readonly layers?: number;
}

/**
 * Add a BERT-style masked-LM head: `0 Linear(h,h), 1 act, 2 LayerNorm, 3 Linear(h,vocab)` whose weight is the host's
 * input embeddings (tied) with its own bias → logits `[B, S, vocab]`; loss on labels `[B, S]` (−100 = not masked).
 */
export function addMaskedLmHead(model: AdapterModel, name: string, options: MaskedLmHeadOptions = {}): PredictionHead {
  return getHeads(model).create(
    name,
    {
      headType: 'masked_lm',
      vocabSize: model.info.vocabSize,
      layers: options.layers ?? 2,
      activationFunction: options.activationFunction === undefined ? 'gelu' : options.activationFunction,
      layerNorm: true,
      bias: true,
      shiftLabels: false,
      label2id: null,
    },
    options,
  );
}

/** Options of {@link addCausalLmHead}; defaults depend on the host, as the reference's model classes. */
export interface CausalLmHeadOptions extends AddHeadOptions {
  /** GPT-2: null; BERT family: `'gelu'`. */
  readonly activationFunction?: string | null;
  /** GPT-2: 1 (just the tied projection); BERT family: 2. */
  readonly layers?: number;
  /** GPT-2: false; BERT family: true. */
  readonly layerNorm?: boolean;
  /** GPT-2: false; BERT family: true. */
  readonly bias?: boolean;
}

/**
 * Add a causal-LM head (labels shifted by one): on decoder hosts (`info.isDecoder`: GPT-2, Llama) the tied
 * projection `h·Eᵀ` (`GPT2AdapterModel`), on BERT-family hosts `Linear, act, LayerNorm, tied Linear` (`BertAdapterModel.add_causal_lm_head`).
 */
export function addCausalLmHead(model: AdapterModel, name: string, options: CausalLmHeadOptions = {}): PredictionHead {
  // Decoder hosts take the reference's decoder layout (GPT2AdapterModel / LlamaAdapterModel: the tied projection).
  const gpt2 = model.info.isDecoder === true;
  return getHeads(model).create(
    name,
    {
      headType: 'causal_lm',
      vocabSize: model.info.vocabSize,
      layers: options.layers ?? (gpt2 ? 1 : 2),
      activationFunction: options.activationFunction === undefined ? (gpt2 ? null : 'gelu') : options.activationFunction,
      layerNorm: options.layerNorm ?? !gpt2,
      bias: options.bias ?? !gpt2,
      shiftLabels: true,
      label2id: null,
    },
    options,
  );
}
