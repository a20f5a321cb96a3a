import type { AdapterModel } from '@adapterkit/core';
import { label2idFrom } from './config';
import type { PredictionHead } from './head';
import { getHeads, type AddHeadOptions } from './registry';

/** Label names by id: a list (`['neg', 'pos']`) or an id → name map. */
export type Id2Label = readonly string[] | Readonly<Record<number, string>>;

/** Options of {@link addClassificationHead} (the reference's `add_classification_head`). */
export interface ClassificationHeadOptions extends AddHeadOptions {
  /** Default 2. `1` = regression (MSE loss). */
  readonly numLabels?: number;
  /** Linear layers, default 2. */
  readonly layers?: number;
  /** Default `'tanh'`; null for none. */
  readonly activationFunction?: string | null;
  /** Multi-label (sigmoid/BCE, head type `multilabel_classification`), default false. */
  readonly multilabel?: boolean;
  readonly id2label?: Id2Label;
  /** Read the pooler output instead of the first token (default false). */
  readonly usePooler?: boolean;
  /** Bias of the last layer, default true. */
  readonly bias?: boolean;
  /** Dropout before each Linear (default: the host's `hidden_dropout_prob`). */
  readonly dropoutProb?: number;
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
      layers: options.layers ?? 2,
      activationFunction: options.activationFunction === undefined ? 'tanh' : options.activationFunction,
      label2id: options.id2label ? label2idFrom(options.id2label) : null,
      usePooler: options.usePooler ?? false,
      bias: options.bias ?? true,
      ...(options.dropoutProb !== undefined ? { dropoutProb: options.dropoutProb } : {}),
    },
    options,
  );
}

/** Options of {@link addTaggingHead} (the reference's `add_tagging_head`). */
export interface TaggingHeadOptions extends AddHeadOptions {
  /** Default 2. */
  readonly numLabels?: number;
  /** Default 1. */
  readonly layers?: number;
  /** Default `'tanh'` (between layers only). */
  readonly activationFunction?: string | null;
  readonly id2label?: Id2Label;
  readonly dropoutProb?: number;
}

/** Add a token-classification head: per-token logits `[B, S, n]`; its loss ignores padding and label −100. */
export function addTaggingHead(model: AdapterModel, name: string, options: TaggingHeadOptions = {}): PredictionHead {
  return getHeads(model).create(
    name,
    {
      headType: 'tagging',
      numLabels: options.numLabels ?? 2,
      layers: options.layers ?? 1,
      activationFunction: options.activationFunction === undefined ? 'tanh' : options.activationFunction,
      label2id: options.id2label ? label2idFrom(options.id2label) : null,
      bias: true,
      ...(options.dropoutProb !== undefined ? { dropoutProb: options.dropoutProb } : {}),
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
 * Add a causal-LM head (labels shifted by one): on GPT-2 the tied projection `h·Eᵀ` (`GPT2AdapterModel`), on
 * BERT-family hosts `Linear, act, LayerNorm, tied Linear` (`BertAdapterModel.add_causal_lm_head`).
 */
export function addCausalLmHead(model: AdapterModel, name: string, options: CausalLmHeadOptions = {}): PredictionHead {
  const gpt2 = model.info.modelType === 'gpt2';
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
