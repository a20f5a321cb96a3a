import { ACTIVATION_NAMES, FileFormatError } from './core';

/** Rotary-embedding scaling of a Llama-family config (`rope_scaling`); null = plain RoPE. */
export type RopeScaling =
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/**
 * A parsed Hugging Face `config.json`, normalised across architectures (BERT names vs GPT-2 names vs Llama
 * names). Missing fields take the defaults of the transformers config class of the `model_type`. Fields an
 * architecture does not have hold a neutral value (documented per field).
 */
export interface ModelConfig {
  /** HF `model_type` (one of {@link SUPPORTED_MODEL_TYPES}). */
  readonly modelType: string;
  /** `hidden_size` / `n_embd` / `dim` (H). */
  readonly hiddenSize: number;
  /** `num_hidden_layers` / `n_layer` / `n_layers`. */
  readonly numLayers: number;
  /** `num_attention_heads` / `n_head` / `n_heads`. */
  readonly numHeads: number;
  /** `num_key_value_heads` (grouped-query attention); `numHeads` where the architecture has no GQA. */
  readonly numKeyValueHeads: number;
  /** Per-head width: `head_dim` (Llama) or `hiddenSize / numHeads`. */
  readonly headDim: number;
  /** `intermediate_size` / `n_inner` (GPT-2: null → 4·H) / `hidden_dim`. */
  readonly intermediateSize: number;
  /** `hidden_act` / `activation_function` / `activation` (an HF activation name, e.g. `gelu`, `gelu_new`, `silu`). */
  readonly hiddenAct: string;
  /** `layer_norm_eps` / `layer_norm_epsilon` / `rms_norm_eps` (DistilBERT: the fixed 1e-12). */
  readonly layerNormEps: number;
  /**
   * Epsilon of LayerNorms in prediction heads: the reference's `getattr(config, "layer_norm_eps", 1e-12)`, i.e.
   * `layer_norm_eps` where the config has that attribute, else 1e-12.
   */
  readonly headLayerNormEps: number;
  /** `max_position_embeddings` / `n_positions`: rows of the position-embedding table (RoPE: the trained length). */
  readonly maxPositionEmbeddings: number;
  /** `type_vocab_size` (0 where the model has no token-type table). */
  readonly typeVocabSize: number;
  readonly vocabSize: number;
  /** `pad_token_id` (null when absent, as for GPT-2). RoBERTa uses it as the position `padding_idx`. */
  readonly padTokenId: number | null;
  /** `hidden_dropout_prob` / `resid_pdrop` / `dropout`: dropout on sub-layer outputs (Llama: 0). */
  readonly hiddenDropout: number;
  /** `attention_probs_dropout_prob` / `attn_pdrop` / `attention_dropout`: dropout on attention probabilities. */
  readonly attentionDropout: number;
  /** `embd_pdrop` (GPT-2); BERT-family models use `hidden_dropout_prob` on the embeddings. */
  readonly embeddingDropout: number;
  /** `initializer_range` (std of the normal init used by {@link initHost}). */
  readonly initializerRange: number;
  /** GPT-2 `scale_attn_weights` (divide scores by √headDim); always true elsewhere. */
  readonly scaleAttnWeights: boolean;
  /** GPT-2 `scale_attn_by_inverse_layer_idx` (divide scores additionally by layer index + 1). */
  readonly scaleAttnByInverseLayerIdx: boolean;
  /** `rope_theta` of rotary models (0 where positions are learned). */
  readonly ropeTheta: number;
  /** `rope_scaling` of rotary models (null = none). */
  readonly ropeScaling: RopeScaling | null;
  /** `tie_word_embeddings`: the LM head reuses the input embeddings (GPT-2: true; Llama: the config's value). */
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (Llama `attention_bias`; Qwen2 always; BERT-family always). */
  readonly attentionBias: boolean;
  /** The JSON object the config was parsed from (kept so it can be written back unchanged). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Typed reads of config fields with errors naming the file and key. @internal */
export class ConfigReader {
  constructor(
    readonly json: Readonly<Record<string, unknown>>,
    readonly source: string,
  ) {}

  fail(key: string, what: string): never {
    throw new FileFormatError(
      'BAD_MODEL_CONFIG',
      `${this.source}: "${key}" must be ${what}, got ${JSON.stringify(this.json[key])}`,
    );
  }

  has(key: string): boolean {
    return this.json[key] !== undefined;
  }

  posInt(key: string, dflt: number): number {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.fail(key, 'a positive integer');
    return v;
  }

  nonNegInt(key: string, dflt: number): number {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(key, 'a non-negative integer');
    return v;
  }

  optInt(key: string, dflt: number | null): number | null {
    const v = this.json[key] === undefined ? dflt : this.json[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, 'an integer or null');
    return v;
  }

  positive(key: string, dflt: number): number {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, 'a positive number');
    return v;
  }

  rate(key: string, dflt: number): number {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) this.fail(key, 'a probability in [0, 1)');
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  activation(key: string, dflt: string): string {
    const v = this.json[key] ?? dflt;
    if (typeof v !== 'string' || !ACTIVATION_NAMES.includes(v.toLowerCase())) {
      this.fail(key, `one of the supported activations (${ACTIVATION_NAMES.join(', ')})`);
    }
    return v;
  }

  unsupported(key: string, ok: (v: unknown) => boolean, what: string): void {
    const v = this.json[key];
    if (v !== undefined && !ok(v)) {
      throw new FileFormatError(
        'UNSUPPORTED_MODEL_CONFIG',
        `${this.source}: "${key}": ${JSON.stringify(v)} is not supported (${what})`,
      );
    }
  }
}
