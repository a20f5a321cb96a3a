import { readFile } from 'node:fs/promises';
import { ACTIVATION_NAMES, FileFormatError } from './core';

/** HF `model_type`s this package implements. */
export const SUPPORTED_MODEL_TYPES = ['bert', 'roberta', 'xlm-roberta', 'gpt2'] as const;

/** One of {@link SUPPORTED_MODEL_TYPES}. */
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/**
 * A parsed Hugging Face `config.json`, normalised across architectures (BERT names vs GPT-2 names). Missing
 * fields take the defaults of the transformers 4.26 config class of the `model_type`.
 */
export interface ModelConfig {
  readonly modelType: ModelType;
  /** `hidden_size` / `n_embd` (H). */
  readonly hiddenSize: number;
  /** `num_hidden_layers` / `n_layer`. */
  readonly numLayers: number;
  /** `num_attention_heads` / `n_head`. */
  readonly numHeads: number;
  /** `intermediate_size` / `n_inner` (GPT-2: null → 4·H). */
  readonly intermediateSize: number;
  /** `hidden_act` / `activation_function` (an HF activation name, e.g. `gelu`, `gelu_new`). */
  readonly hiddenAct: string;
  /** `layer_norm_eps` / `layer_norm_epsilon`. */
  readonly layerNormEps: number;
  /** `max_position_embeddings` / `n_positions`: rows of the position-embedding table. */
  readonly maxPositionEmbeddings: number;
  /** `type_vocab_size` (0 for GPT-2, which has no token-type table). */
  readonly typeVocabSize: number;
  readonly vocabSize: number;
  /** `pad_token_id` (null when absent, as for GPT-2). RoBERTa uses it as the position `padding_idx`. */
  readonly padTokenId: number | null;
  /** `hidden_dropout_prob` / `resid_pdrop`: dropout on sub-layer outputs. */
  readonly hiddenDropout: number;
  /** `attention_probs_dropout_prob` / `attn_pdrop`: dropout on attention probabilities. */
  readonly attentionDropout: number;
  /** `embd_pdrop` (GPT-2); BERT-family models use `hidden_dropout_prob` on the embeddings. */
  readonly embeddingDropout: number;
  /** `initializer_range` (std of the normal init used by {@link initHost}). */
  readonly initializerRange: number;
  /** GPT-2 `scale_attn_weights` (divide scores by √headDim); always true for BERT-family models. */
  readonly scaleAttnWeights: boolean;
  /** GPT-2 `scale_attn_by_inverse_layer_idx` (divide scores additionally by layer index + 1). */
  readonly scaleAttnByInverseLayerIdx: boolean;
  /** The JSON object the config was parsed from (kept so it can be written back unchanged). */
  readonly raw: Readonly<Record<string, unknown>>;
}

interface Defaults {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
}

// transformers 4.26 BertConfig / RobertaConfig / XLMRobertaConfig defaults
const BERT_DEFAULTS: Defaults = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};
const ENCODER_DEFAULTS: Record<Exclude<ModelType, 'gpt2'>, Defaults> = {
  bert: BERT_DEFAULTS,
  roberta: { ...BERT_DEFAULTS, vocab_size: 50265, pad_token_id: 1 },
  'xlm-roberta': { ...BERT_DEFAULTS, pad_token_id: 1 },
};

class Reader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly source: string,
  ) {}

  private fail(key: string, what: string): never {
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

/**
 * Parse a Hugging Face `config.json` object of a BERT, RoBERTa, XLM-RoBERTa or GPT-2 model.
 *
 * @param json - The parsed JSON object.
 * @param source - Name used in error messages (usually the file path).
 * @throws FileFormatError for an unknown `model_type` (the message lists the supported ones), an invalid field,
 *   or an unsupported option (relative position embeddings, decoder/cross-attention BERT).
 */
export function parseConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FileFormatError('BAD_MODEL_CONFIG', `${source}: a model config must be a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  const modelType = raw['model_type'];
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new FileFormatError(
      'UNSUPPORTED_MODEL_TYPE',
      `${source}: model_type ${JSON.stringify(modelType ?? null)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  const r = new Reader(raw, source);
  let config: ModelConfig;
  if (modelType === 'gpt2') {
    const hiddenSize = r.posInt('n_embd', 768);
    const inner = r.optInt('n_inner', null);
    if (inner !== null && inner <= 0) r.posInt('n_inner', 1);
    const resid = r.rate('resid_pdrop', 0.1);
    r.unsupported('add_cross_attention', (v) => v === false, 'GPT-2 with cross-attention');
    config = {
      modelType,
      hiddenSize,
      numLayers: r.posInt('n_layer', 12),
      numHeads: r.posInt('n_head', 12),
      intermediateSize: inner ?? 4 * hiddenSize,
      hiddenAct: r.activation('activation_function', 'gelu_new'),
      layerNormEps: r.positive('layer_norm_epsilon', 1e-5),
      maxPositionEmbeddings: r.posInt('n_positions', 1024),
      typeVocabSize: 0,
      vocabSize: r.posInt('vocab_size', 50257),
      padTokenId: r.optInt('pad_token_id', null),
      hiddenDropout: resid,
      attentionDropout: r.rate('attn_pdrop', 0.1),
      embeddingDropout: r.rate('embd_pdrop', 0.1),
      initializerRange: r.positive('initializer_range', 0.02),
      scaleAttnWeights: r.bool('scale_attn_weights', true),
      scaleAttnByInverseLayerIdx: r.bool('scale_attn_by_inverse_layer_idx', false),
      raw,
    };
  } else {
    const d = ENCODER_DEFAULTS[modelType as Exclude<ModelType, 'gpt2'>];
    r.unsupported('position_embedding_type', (v) => v === 'absolute', 'only "absolute" position embeddings');
    r.unsupported('is_decoder', (v) => v === false, 'decoder (causal) BERT');
    r.unsupported('add_cross_attention', (v) => v === false, 'BERT with cross-attention');
    const hidden = r.rate('hidden_dropout_prob', d.hidden_dropout_prob);
    config = {
      modelType: modelType as ModelType,
      hiddenSize: r.posInt('hidden_size', d.hidden_size),
      numLayers: r.posInt('num_hidden_layers', d.num_hidden_layers),
      numHeads: r.posInt('num_attention_heads', d.num_attention_heads),
      intermediateSize: r.posInt('intermediate_size', d.intermediate_size),
      hiddenAct: r.activation('hidden_act', d.hidden_act),
      layerNormEps: r.positive('layer_norm_eps', d.layer_norm_eps),
      maxPositionEmbeddings: r.posInt('max_position_embeddings', d.max_position_embeddings),
      typeVocabSize: r.posInt('type_vocab_size', d.type_vocab_size),
      vocabSize: r.posInt('vocab_size', d.vocab_size),
      padTokenId: r.optInt('pad_token_id', d.pad_token_id),
      hiddenDropout: hidden,
      attentionDropout: r.rate('attention_probs_dropout_prob', d.attention_probs_dropout_prob),
      embeddingDropout: hidden,
      initializerRange: r.positive('initializer_range', d.initializer_range),
      scaleAttnWeights: true,
      scaleAttnByInverseLayerIdx: false,
      raw,
    };
  }
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new FileFormatError(
      'BAD_MODEL_CONFIG',
      `${source}: hidden size ${config.hiddenSize} is not a multiple of the number of attention heads (${config.numHeads})`,
    );
  }
  if (config.modelType !== 'gpt2' && config.modelType !== 'bert') {
    const pad = config.padTokenId;
    if (pad === null || pad < 0 || pad >= config.maxPositionEmbeddings) {
      throw new FileFormatError(
        'BAD_MODEL_CONFIG',
        `${source}: ${config.modelType} needs a pad_token_id in [0, ${config.maxPositionEmbeddings}) (it is the position padding_idx), got ${JSON.stringify(pad)}`,
      );
    }
  }
  return config;
}

/**
 * The first position id of a sequence: RoBERTa-style models (`roberta`, `xlm-roberta`) number positions from
 * `pad_token_id + 1`, as HF's `create_position_ids_from_input_ids`; BERT and GPT-2 from 0.
 */
export function positionOffset(config: ModelConfig): number {
  return config.modelType === 'bert' || config.modelType === 'gpt2' ? 0 : config.padTokenId! + 1;
}

/** The longest sequence (in tokens) the position table takes: `max_position_embeddings` less {@link positionOffset}. */
export function maxSequenceLength(config: ModelConfig): number {
  return config.maxPositionEmbeddings - positionOffset(config);
}

/**
 * Read and parse `config.json` (see {@link parseConfig}).
 *
 * @throws FileFormatError when the file cannot be read, is not JSON, or is not a supported config.
 */
export async function readConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FileFormatError('MODEL_CONFIG_IO', `${path}: cannot read model config: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError('BAD_MODEL_CONFIG', `${path}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(json, path);
}

/** Accept either a parsed {@link ModelConfig} or a raw HF config object. */
export function toModelConfig(config: ModelConfig | Record<string, unknown>, source = '<config>'): ModelConfig {
  if (typeof (config as ModelConfig).modelType === 'string' && typeof (config as ModelConfig).hiddenSize === 'number') {
    return config as ModelConfig;
  }
  return parseConfig(config, source);
}
