import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../nn/init';
import type { HookPoint, HookRunner } from '../hooks/points';

/**
 * Module sites of a host, named after where the reference library keeps adapter modules. A host maps each site
 * and layer to the reference module path (e.g. BERT `ffn.output` → `encoder.layer.3.output`, GPT-2 →
 * `h.3.output_adapters`), so methods write the reference's state-dict keys on every architecture.
 */
export type ModuleSite =
  | 'attention.self'
  | 'attention.query'
  | 'attention.key'
  | 'attention.value'
  | 'attention.qkv'
  | 'attention.output'
  /** The attention output dense (BERT `attention.output.dense`, GPT-2 `attn.c_proj`). */
  | 'attention.outputProjection'
  /** The gate dense of a gated FFN (Llama `mlp.gate_proj`). */
  | 'ffn.gateProjection'
  | 'ffn.intermediate'
  | 'ffn.outputProjection'
  | 'ffn.output'
  /** The whole Transformer layer module (BERT `encoder.layer.3`, GPT-2 `h.3`): where ReFT keeps its `reft_layer`. */
  | 'layer'
  /** The pooler dense (BERT `pooler.dense`); model-level: hosts map it for every layer index (look it up with 0). */
  | 'pooler';

/**
 * Where a host runs its model-level hook points, following the reference on the same architecture (this is where
 * invertible adapters act):
 * - `embeddings`: `'summed'` — `embeddings.output` receives the summed embeddings after their LayerNorm and dropout
 *   (BERT, RoBERTa: the reference's `invertible_adapters_forward(embedding_output)`); `'token'` — it receives the
 *   token embeddings before position and token-type embeddings are added, and dropout follows the sum (GPT-2:
 *   `inputs_embeds = self.invertible_adapters_forward(self.wte(input_ids))`).
 * - `staticHeadInverse`: whether the host's own tied LM head (`lmLogits`, the reference's static `*LMHeadModel`)
 *   runs `head.input` before its projection. GPT-2: false (`GPT2LMHeadModel` applies no inverse; flex causal-LM
 *   heads do, through `AdapterModel.runHook('head.input')`).
 */
export interface HookPlacement {
  readonly embeddings: 'summed' | 'token';
  readonly staticHeadInverse: boolean;
}

/** The placement of hosts that declare none: summed embeddings, a static head that runs `head.input`. */
export const DEFAULT_HOOK_PLACEMENT: HookPlacement = Object.freeze({ embeddings: 'summed', staticHeadInverse: true });

/** Static description of a host model that methods build against. */
export interface HostInfo {
  /** HF `model_type`: `bert`, `roberta`, `xlm-roberta`, `gpt2`, ... */
  readonly modelType: string;
  /** The reference's model class name written to `adapter_config.json` (e.g. `BertModel`). */
  readonly modelClass: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  /** The reference's base-model attribute (`bert`, `roberta`, `transformer`); file keys may carry it as prefix. */
  readonly baseModelPrefix: string;
  /** Hook points this host calls. A method needing another point gets a CapabilityError. */
  readonly hookPoints: ReadonlySet<HookPoint>;
  /** Reference module path of a site in a layer, or undefined where the host has no such site. */
  modulePath(site: ModuleSite, layer: number): string | undefined;
  /** Total number of base-model parameters (the denominator of `%Param`). */
  readonly numParameters: number;
  /**
   * Causal (decoder-only) self-attention: the host can generate text and takes causal-LM heads in the
   * reference's decoder layout. Undefined = false (an encoder).
   */
  readonly isDecoder?: boolean;
  /** Key/value heads (grouped-query attention when below `numHeads`). Undefined = `numHeads`. */
  readonly numKeyValueHeads?: number;
  /**
   * `[in, out]` of the dense layer at a module site (e.g. Llama `attention.key` with 2 of 4 KV heads is
   * `[hidden, hidden / 2]`, and `ffn.intermediate` is `down_proj`), or undefined where the host has none.
   * Undefined method = the BERT shapes (`hidden → hidden` attention, `hidden → intermediate`, `intermediate → hidden`;
   * fused qkv `hidden → 3·hidden`).
   */
  moduleShape?(site: ModuleSite, layer: number): { readonly inDim: number; readonly outDim: number } | undefined;
  /**
   * How the host's projection weights are stored in HF files: `linear` (nn.Linear `[out, in]`) or `conv1d`
   * (HF `Conv1D` `[in, out]`, GPT-2; PEFT's `fan_in_fan_out`). Undefined = `linear`.
   */
  readonly weightLayout?: 'linear' | 'conv1d';
  /**
   * Location key of self-attention prefixes in the reference's prefix-tuning pool (`self_prefix` on BERT, GPT-2
   * and Llama; DistilBERT's adapter-transformers code names it `self`). Undefined = `self_prefix`.
   */
  readonly selfPrefixKey?: string;
  /**
   * Prefix of every state-dict key of the reference's model class (`model.` for `LlamaForCausalLM`, whose base model
   * is its `model` attribute). Saved adapters and PEFT exports write it, as the reference does. Undefined = none
   * (bare `BertModel`, `GPT2Model`).
   */
  readonly stateDictPrefix?: string;
  /**
   * Whether the host takes extra leading positions returned by `embeddings.output` (a soft prompt) and extends its
   * attention mask for them: the reference's `support_prompt_tuning`. Absent = false (prompt tuning adds nothing).
   */
  readonly supportsPromptTuning?: boolean;
  /** Where `embeddings.output` and `head.input` sit (default {@link DEFAULT_HOOK_PLACEMENT}). */
  readonly hookPlacement?: HookPlacement;
}

/** Model inputs (int32 tensors, `[batch, seq]`). */
export interface ModelInputs {
  readonly inputIds: tf.Tensor2D;
  readonly attentionMask?: tf.Tensor2D;
  readonly tokenTypeIds?: tf.Tensor2D;
  readonly positionIds?: tf.Tensor2D;
}

/** Model outputs. */
export interface ModelOutputs {
  /** `[batch, seq, hidden]` */
  readonly lastHiddenState: tf.Tensor3D;
  /** `[batch, hidden]` (BERT/RoBERTa pooler). */
  readonly poolerOutput?: tf.Tensor2D;
  /** `[batch, seq, vocab]` (GPT-2 LM head tied to the input embeddings). */
  readonly logits?: tf.Tensor3D;
}

/**
 * Keys and values of earlier positions, per layer, for incremental decoding (decoder hosts). The host appends
 * the new positions' keys/values (after RoPE, before any adapter at `attention.kv`, `[batch, kvHeads, len, headDim]`)
 * and stores the result; adapters see the full key/value sequence at `attention.kv` on every step.
 */
export interface KeyValueCache {
  /** Number of positions cached (the same in every layer once a step is complete). */
  readonly length: number;
  /** The cached keys/values of a layer, or undefined before the first step. */
  get(layer: number): { readonly key: tf.Tensor4D; readonly value: tf.Tensor4D } | undefined;
  /** Replace a layer's keys/values (the cache keeps them alive across `tf.tidy` scopes and frees the old ones). */
  set(layer: number, key: tf.Tensor4D, value: tf.Tensor4D): void;
}

/** Options of a host forward pass. */
export interface HostForwardOptions {
  readonly training: boolean;
  /** The forward's random source for dropout; set exactly when `training` is (see {@link ForwardInfo.rng}). */
  readonly rng?: Rng;
  /** Compute LM logits where the host has an LM head (tied or untied). */
  readonly lmLogits?: boolean;
  /**
   * Incremental decoding (decoder hosts only): the inputs are the positions after the cached ones; their
   * `attentionMask`, if given, covers cached and new positions (`[batch, cache.length + seq]`).
   */
  readonly cache?: KeyValueCache;
}

/**
 * A Transformer implementation that AdapterModel wraps. Hosts are built from tfjs-core ops and call `hooks.run`
 * at every hook point they support.
 */
export interface TransformerHost {
  readonly info: HostInfo;
  /** Base parameters under their HF state-dict names. */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  /** Input word-embedding matrix `[vocab, hidden]` (for tied LM heads). */
  readonly wordEmbeddings: tf.Variable;
  /**
   * The output embedding of an untied LM head `[vocab, hidden]` (Llama's `lm_head.weight` with
   * `tie_word_embeddings: false`), which LM prediction heads project with. Undefined = tied to `wordEmbeddings`.
   */
  readonly lmHeadWeight?: tf.Variable;
  forward(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs;
  dispose(): void;
}
