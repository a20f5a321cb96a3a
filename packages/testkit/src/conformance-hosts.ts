import * as tf from '@tensorflow/tfjs-core';
import type { HookPoint, HostInfo, ModelInputs, TransformerHost } from '@adapterkit/core';
import { initHost, type ModelHost } from '@adapterkit/models';

/** The hosts the conformance suite runs on. */
export type ConformanceHostKind = 'bert' | 'roberta' | 'distilbert' | 'gpt2' | 'llama';

/** Every host kind, in the order suites run them. */
export const CONFORMANCE_HOSTS: readonly ConformanceHostKind[] = ['bert', 'roberta', 'distilbert', 'gpt2', 'llama'];

/**
 * Tiny HF configs of the conformance hosts: hidden 32, 2 layers, 4 heads, FFN 64, vocab 64, every dropout 0 (so a
 * training-mode forward is deterministic; Llama with 2 key/value heads), `initializer_range` 0.1 (outputs that differ visibly when an adapter acts).
 */
export const TINY_HOST_CONFIGS: Readonly<Record<ConformanceHostKind, Readonly<Record<string, unknown>>>> = {
  bert: {
    model_type: 'bert',
    vocab_size: 64,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 32,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.1,
  },
  roberta: {
    model_type: 'roberta',
    vocab_size: 64,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 34,
    pad_token_id: 1,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.1,
  },
  distilbert: {
    model_type: 'distilbert',
    vocab_size: 64,
    dim: 32,
    n_layers: 2,
    n_heads: 4,
    hidden_dim: 64,
    max_position_embeddings: 32,
    dropout: 0,
    attention_dropout: 0,
    initializer_range: 0.1,
  },
  llama: {
    model_type: 'llama',
    vocab_size: 64,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 32,
    initializer_range: 0.1,
  },
  gpt2: {
    model_type: 'gpt2',
    vocab_size: 64,
    n_embd: 32,
    n_layer: 2,
    n_head: 4,
    n_inner: 64,
    n_positions: 32,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.1,
  },
};

/** A randomly initialised tiny host of `kind` (deterministic for a seed); see {@link TINY_HOST_CONFIGS}. */
export function createConformanceHost(kind: ConformanceHostKind, seed = 0): ModelHost {
  return initHost(TINY_HOST_CONFIGS[kind], seed);
}

/** Whether forwards on this host should also compute LM logits (decoders, whose LM head reaches `head.input`). */
export function hasLmHead(kind: ConformanceHostKind): boolean {
  return kind === 'gpt2' || kind === 'llama';
}

/**
 * The fixed input batch of the suite: 2 sequences of 6 tokens, the second padded at the end (int32 `[2, 6]`;
 * BERT-family hosts also get `tokenTypeIds`). Token ids avoid RoBERTa's padding id 1. The caller disposes.
 */
export function conformanceInputs(kind: ConformanceHostKind): ModelInputs {
  const ids = [
    [5, 17, 42, 8, 23, 61],
    [9, 33, 12, 50, 2, 2],
  ];
  const mask = [
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0],
  ];
  const types = [
    [0, 0, 0, 1, 1, 1],
    [0, 0, 1, 1, 1, 1],
  ];
  return {
    inputIds: tf.tensor2d(ids, [2, 6], 'int32'),
    attentionMask: tf.tensor2d(mask, [2, 6], 'int32'),
    ...(kind === 'bert' || kind === 'roberta' ? { tokenTypeIds: tf.tensor2d(types, [2, 6], 'int32') } : {}),
  };
}

/**
 * A view of `host` whose `info.hookPoints` lacks `missing` (everything else is the host's own), to check that
 * methods needing those points are refused with a CapabilityError. Disposing the view does not dispose `host`.
 */
export function withoutHookPoints(host: TransformerHost, missing: readonly HookPoint[]): TransformerHost {
  const hookPoints = new Set([...host.info.hookPoints].filter((p) => !missing.includes(p)));
  // Inherit every other field (and modulePath) from the host's info; define rather than assign, since the host's
  // info may be frozen.
  const info = Object.create(host.info, { hookPoints: { value: hookPoints, enumerable: true } }) as HostInfo;
  return {
    info,
    get parameters() {
      return host.parameters;
    },
    get wordEmbeddings() {
      return host.wordEmbeddings;
    },
    forward: (inputs, hooks, options) => host.forward(inputs, hooks, options),
    dispose: () => undefined,
  };
}
