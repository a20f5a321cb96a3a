import * as tf from '@tensorflow/tfjs-core';
import {
  alignMask,
  asInt,
  BaseHost,
  batchMatMul,
  checkLength,
  dropout,
  makeInfo,
  mergeHeads,
  splitHeads,
  type ModelHostInfo,
} from './base';
import type { Architecture } from './architecture';
import type { ConfigReader, ModelConfig } from './config-reader';
import {
  AdapterKitError,
  addAndNorm,
  additiveMask,
  getActivation,
  layerNorm,
  linear,
  type Activation,
  type HookPoint,
  type HookRunner,
  type HostForwardOptions,
  type ModelInputs,
  type ModelOutputs,
  type ModuleSite,
} from './core';
import { modulePathTable } from './module-paths';
import { WeightList, type ParameterStore } from './weights';

/** Hook points a BERT-family host calls (all but `head.input`: the bare encoder has no LM head). */
export const BERT_HOOK_POINTS: readonly HookPoint[] = [
  'embeddings.output',
  'attention.projection',
  'attention.kv',
  'attention.outputProjection',
  'attention.output',
  'ffn.intermediate',
  'ffn.outputProjection',
  'ffn.output',
  'layer.output',
];

/** Reference module path of a site in layer `i` of a BERT/RoBERTa/XLM-R encoder (relative to the base model). */
export const bertModulePath: (site: ModuleSite, i: number) => string | undefined = modulePathTable(
  (i) => `encoder.layer.${i}`,
  {
    layer: '',
    'attention.self': 'attention.self',
    'attention.query': 'attention.self.query',
    'attention.key': 'attention.self.key',
    'attention.value': 'attention.self.value',
    'attention.output': 'attention.output',
    'attention.outputProjection': 'attention.output.dense',
    'ffn.intermediate': 'intermediate.dense',
    'ffn.outputProjection': 'output.dense',
    'ffn.output': 'output',
  },
  { pooler: 'pooler.dense' },
);

type V2 = tf.Tensor2D;
type V1 = tf.Tensor1D;

interface LayerWeights {
  readonly qW: V2;
  readonly qB: V1;
  readonly kW: V2;
  readonly kB: V1;
  readonly vW: V2;
  readonly vB: V1;
  readonly aoW: V2;
  readonly aoB: V1;
  readonly aoLnG: V1;
  readonly aoLnB: V1;
  readonly iW: V2;
  readonly iB: V1;
  readonly oW: V2;
  readonly oB: V1;
  readonly oLnG: V1;
  readonly oLnB: V1;
}

const CLASS_NAMES: Record<string, string> = { bert: 'BertModel', roberta: 'RobertaModel', 'xlm-roberta': 'XLMRobertaModel' };

/**
 * BERT / RoBERTa / XLM-RoBERTa encoder (post-LN) with the optional pooler, numerically equal to transformers
 * 4.26 `BertModel` / `RobertaModel` / `XLMRobertaModel`.
 *
 * - embeddings: `LayerNorm(word[ids] + token_type[tt] + position[pos])` → dropout → `embeddings.output` hook.
 *   BERT positions are `0..S-1`; RoBERTa/XLM-R positions are `pad + cumsum(ids ≠ pad)·(ids ≠ pad)`.
 * - each layer: q/k/v projections (`attention.projection`), heads `[B, heads, S, headDim]` (`attention.kv`),
 *   `softmax(q·kᵀ/√headDim + mask)·v`, output dense + dropout (`attention.output`, add & LayerNorm), FFN
 *   (`ffn.intermediate`, activation, `ffn.outputProjection`, dropout, `ffn.output`).
 * - pooler: `tanh(dense(h[:, 0]))` (`pooler.projection` on the dense, `[B, 1, H]`) → `poolerOutput [B, H]`.
 */
export class BertHost extends BaseHost {
  readonly info: ModelHostInfo;
  readonly wordEmbeddings: tf.Variable;
  private readonly posEmb: V2;
  private readonly typeEmb: V2;
  private readonly embLnG: V1;
  private readonly embLnB: V1;
  private readonly layers: LayerWeights[];
  private readonly pooler: { w: V2; b: V1 } | undefined;
  private readonly act: Activation;
  private readonly isRoberta: boolean;

  /** Use {@link loadHost}, {@link createHost} or {@link initHost}. @internal */
  constructor(config: ModelConfig, store: ParameterStore, notes: readonly string[]) {
    super(config, store, notes);
    if (!BERT_ARCHITECTURE.modelTypes.includes(config.modelType)) throw new AdapterKitError('BAD_CONFIG', 'BertHost needs a bert/roberta/xlm-roberta config');
    this.isRoberta = config.modelType !== 'bert';
    const g2 = (n: string): V2 => store.get(n) as unknown as V2;
    const g1 = (n: string): V1 => store.get(n) as unknown as V1;
    this.wordEmbeddings = store.get('embeddings.word_embeddings.weight');
    this.posEmb = g2('embeddings.position_embeddings.weight');
    this.typeEmb = g2('embeddings.token_type_embeddings.weight');
    this.embLnG = g1('embeddings.LayerNorm.weight');
    this.embLnB = g1('embeddings.LayerNorm.bias');
    this.layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `encoder.layer.${i}`;
      this.layers.push({
        qW: g2(`${p}.attention.self.query.weight`),
        qB: g1(`${p}.attention.self.query.bias`),
        kW: g2(`${p}.attention.self.key.weight`),
        kB: g1(`${p}.attention.self.key.bias`),
        vW: g2(`${p}.attention.self.value.weight`),
        vB: g1(`${p}.attention.self.value.bias`),
        aoW: g2(`${p}.attention.output.dense.weight`),
        aoB: g1(`${p}.attention.output.dense.bias`),
        aoLnG: g1(`${p}.attention.output.LayerNorm.weight`),
        aoLnB: g1(`${p}.attention.output.LayerNorm.bias`),
        iW: g2(`${p}.intermediate.dense.weight`),
        iB: g1(`${p}.intermediate.dense.bias`),
        oW: g2(`${p}.output.dense.weight`),
        oB: g1(`${p}.output.dense.bias`),
        oLnG: g1(`${p}.output.LayerNorm.weight`),
        oLnB: g1(`${p}.output.LayerNorm.bias`),
      });
    }
    this.pooler = store.variables.has('pooler.dense.weight')
      ? { w: g2('pooler.dense.weight'), b: g1('pooler.dense.bias') }
      : undefined;
    this.act = getActivation(config.hiddenAct);
    this.info = makeInfo(config, store, {
      modelClass: CLASS_NAMES[config.modelType]!,
      baseModelPrefix: this.isRoberta ? 'roberta' : 'bert',
      hookPoints: this.pooler ? [...BERT_HOOK_POINTS, 'pooler.projection'] : BERT_HOOK_POINTS,
      modulePath: this.pooler ? bertModulePath : (site, i) => (site === 'pooler' ? undefined : bertModulePath(site, i)),
      hasPooler: this.pooler !== undefined,
      hasLmHead: false,
      isDecoder: false,
      supportsPromptTuning: true,
    });
  }

  /** RoBERTa position ids: `pad + cumsum(ids ≠ pad) · (ids ≠ pad)`, `[B, S]` int32. */
  private robertaPositions(ids: tf.Tensor2D): tf.Tensor2D {
    const pad = this.config.padTokenId!;
    const notPad = tf.cast(tf.notEqual(ids, pad), 'float32');
    const pos = tf.add(tf.mul(tf.cumsum(notPad, 1), notPad), pad);
    return tf.cast(pos, 'int32') as tf.Tensor2D;
  }

  protected run(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs {
    const cfg = this.config;
    const training = options.training;
    const rng = options.rng;
    const ids = asInt(inputs.inputIds);
    const [B, S] = ids.shape;
    const H = cfg.hiddenSize;
    const nh = cfg.numHeads;
    const eps = cfg.layerNormEps;

    // --- embeddings
    let posEmb: tf.Tensor;
    if (inputs.positionIds) {
      posEmb = tf.gather(this.posEmb, asInt(inputs.positionIds));
    } else if (this.isRoberta) {
      checkLength(S, cfg.maxPositionEmbeddings, cfg.modelType, BERT_ARCHITECTURE.positionOffset(cfg));
      posEmb = tf.gather(this.posEmb, this.robertaPositions(ids));
    } else {
      checkLength(S, cfg.maxPositionEmbeddings, cfg.modelType);
      posEmb = tf.slice(this.posEmb, [0, 0], [S, H]); // arange positions, broadcast over the batch
    }
    const tt = inputs.tokenTypeIds ? asInt(inputs.tokenTypeIds) : tf.zeros([B, S], 'int32');
    const sum = tf.add(tf.add(tf.gather(this.wordEmbeddings, ids), tf.gather(this.typeEmb, tt)), posEmb) as tf.Tensor3D;
    const emb = dropout(layerNorm(sum, this.embLnG, this.embLnB, eps), cfg.embeddingDropout, training, rng);
    let x = hooks.run('embeddings.output', -1, emb, (e) => e);
    if (x.shape[1] < S) {
      throw new AdapterKitError('BAD_HOOK_RESULT', `embeddings.output returned ${x.shape[1]} positions, fewer than the input's ${S}`);
    }

    let mask = additiveMask(inputs.attentionMask ? inputs.attentionMask : tf.ones([B, S], 'int32'));
    mask = alignMask(mask, x.shape[0], x.shape[1] - S);
    const scale = 1 / Math.sqrt(H / nh);

    // --- encoder layers
    for (let i = 0; i < this.layers.length; i++) {
      const w = this.layers[i]!;
      mask = alignMask(mask, x.shape[0], 0);
      const input = x;
      const q = hooks.run('attention.projection', i, { site: 'query', x: input, y: linear(input, w.qW, w.qB) }, (p) => p.y);
      const k = hooks.run('attention.projection', i, { site: 'key', x: input, y: linear(input, w.kW, w.kB) }, (p) => p.y);
      const v = hooks.run('attention.projection', i, { site: 'value', x: input, y: linear(input, w.vW, w.vB) }, (p) => p.y);
      const kv = hooks.run('attention.kv', i, { key: splitHeads(k, nh), value: splitHeads(v, nh), mask, input }, (p) => p);
      const scores = tf.add(tf.mul(batchMatMul(splitHeads(q, nh), tf.transpose(kv.key, [0, 1, 3, 2])), scale), kv.mask);
      const probs = dropout(tf.softmax(scores), cfg.attentionDropout, training, rng) as tf.Tensor4D;
      const ctx = mergeHeads(batchMatMul(probs, kv.value));
      const ao = hooks.run('attention.outputProjection', i, { site: 'attention_output', x: ctx, y: linear(ctx, w.aoW, w.aoB) }, (p) => p.y);
      const attnOut = dropout(ao, cfg.hiddenDropout, training, rng);
      const x1 = hooks.run(
        'attention.output',
        i,
        { hidden: attnOut, residual: input, layerNorm: (t) => layerNorm(t, w.aoLnG, w.aoLnB, eps) },
        addAndNorm,
      );

      const inter = hooks.run('ffn.intermediate', i, { site: 'intermediate', x: x1, y: linear(x1, w.iW, w.iB) }, (p) => p.y);
      const u = this.act(inter) as tf.Tensor3D;
      const out = hooks.run('ffn.outputProjection', i, { site: 'output', x: u, y: linear(u, w.oW, w.oB) }, (p) => p.y);
      x = hooks.run(
        'ffn.output',
        i,
        { hidden: dropout(out, cfg.hiddenDropout, training, rng), residual: x1, layerNorm: (t) => layerNorm(t, w.oLnG, w.oLnB, eps) },
        addAndNorm,
      );
      x = hooks.run('layer.output', i, x, (h) => h);
    }

    if (!this.pooler) return { lastHiddenState: x };
    const first = tf.reshape(tf.slice(x, [0, 0, 0], [x.shape[0], 1, H]), [x.shape[0], H]) as tf.Tensor2D;
    const { w: pw, b: pb } = this.pooler;
    const pooled = hooks.run('pooler.projection', -1, { site: 'pooler', x: tf.expandDims(first, 1) as tf.Tensor3D, y: tf.expandDims(linear(first, pw, pb), 1) as tf.Tensor3D }, (p) => p.y);
    const poolerOutput = tf.tanh(tf.squeeze(pooled, [1])) as tf.Tensor2D;
    return { lastHiddenState: x, poolerOutput };
  }
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
const ENCODER_DEFAULTS: Record<string, Defaults> = {
  bert: BERT_DEFAULTS,
  roberta: { ...BERT_DEFAULTS, vocab_size: 50265, pad_token_id: 1 },
  'xlm-roberta': { ...BERT_DEFAULTS, pad_token_id: 1 },
};

const isRobertaLike = (config: ModelConfig): boolean => config.modelType !== 'bert';

/** BERT, RoBERTa and XLM-RoBERTa (`BertModel`, `RobertaModel`, `XLMRobertaModel`; post-LN encoders). */
export const BERT_ARCHITECTURE: Architecture = {
  modelTypes: ['bert', 'roberta', 'xlm-roberta'],
  parseConfig(r: ConfigReader, modelType: string): ModelConfig {
    const d = ENCODER_DEFAULTS[modelType]!;
    r.unsupported('position_embedding_type', (v) => v === 'absolute', 'only "absolute" position embeddings');
    r.unsupported('is_decoder', (v) => v === false, 'decoder (causal) BERT');
    r.unsupported('add_cross_attention', (v) => v === false, 'BERT with cross-attention');
    const hidden = r.rate('hidden_dropout_prob', d.hidden_dropout_prob);
    const hiddenSize = r.posInt('hidden_size', d.hidden_size);
    const numHeads = r.posInt('num_attention_heads', d.num_attention_heads);
    const layerNormEps = r.positive('layer_norm_eps', d.layer_norm_eps);
    const config: ModelConfig = {
      modelType,
      hiddenSize,
      numLayers: r.posInt('num_hidden_layers', d.num_hidden_layers),
      numHeads,
      numKeyValueHeads: numHeads,
      headDim: hiddenSize / numHeads,
      intermediateSize: r.posInt('intermediate_size', d.intermediate_size),
      hiddenAct: r.activation('hidden_act', d.hidden_act),
      layerNormEps,
      headLayerNormEps: layerNormEps,
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
      ropeTheta: 0,
      ropeScaling: null,
      tieWordEmbeddings: true,
      attentionBias: true,
      raw: r.json,
    };
    if (isRobertaLike(config)) {
      const pad = config.padTokenId;
      if (pad === null || pad < 0 || pad >= config.maxPositionEmbeddings) {
        r.fail('pad_token_id', `an integer in [0, ${config.maxPositionEmbeddings}) (${modelType} uses it as the position padding_idx)`);
      }
    }
    return config;
  },
  baseModelPrefix: (config) => (config.modelType === 'bert' ? 'bert' : 'roberta'),
  positionOffset: (config) => (isRobertaLike(config) ? config.padTokenId! + 1 : 0),
  expectedWeights(config) {
    const H = config.hiddenSize;
    const I = config.intermediateSize;
    const w = new WeightList()
      .embedding('embeddings.word_embeddings.weight', config.vocabSize, H)
      .embedding('embeddings.position_embeddings.weight', config.maxPositionEmbeddings, H)
      .embedding('embeddings.token_type_embeddings.weight', config.typeVocabSize, H)
      .norm('embeddings.LayerNorm', H);
    for (let i = 0; i < config.numLayers; i++) {
      const p = `encoder.layer.${i}`;
      w.linear(`${p}.attention.self.query`, H, H)
        .linear(`${p}.attention.self.key`, H, H)
        .linear(`${p}.attention.self.value`, H, H)
        .linear(`${p}.attention.output.dense`, H, H)
        .norm(`${p}.attention.output.LayerNorm`, H)
        .linear(`${p}.intermediate.dense`, I, H)
        .linear(`${p}.output.dense`, H, I)
        .norm(`${p}.output.LayerNorm`, H);
    }
    w.linear('pooler.dense', H, H, { pooler: true });
    return w.specs;
  },
  isBuffer: (_config, name) => name === 'embeddings.position_ids' || name === 'embeddings.token_type_ids',
  zeroRow(config, name) {
    const pad = config.padTokenId;
    if (pad === null) return undefined;
    if (name === 'embeddings.word_embeddings.weight' && pad >= 0 && pad < config.vocabSize) return pad;
    if (isRobertaLike(config) && name === 'embeddings.position_embeddings.weight') return pad;
    return undefined;
  },
  create: (config, store, notes) => new BertHost(config, store, notes),
};
