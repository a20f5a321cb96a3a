import * as tf from '@tensorflow/tfjs-core';
import type { Architecture } from './architecture';
import { alignMask, asInt, BaseHost, batchMatMul, checkLength, dropout, makeInfo, mergeHeads, splitHeads, type ModelHostInfo } from './base';
import { BERT_HOOK_POINTS } from './bert';
import type { ConfigReader, ModelConfig } from './config-reader';
import {
  AdapterKitError,
  addAndNorm,
  additiveMask,
  getActivation,
  layerNorm,
  linear,
  type Activation,
  type HookRunner,
  type HostForwardOptions,
  type ModelInputs,
  type ModelOutputs,
  type ModuleSite,
} from './core';
import { modulePathTable } from './module-paths';
import { WeightList, type ParameterStore } from './weights';

/** DistilBERT's LayerNorms use a fixed epsilon (the config has no field for it). */
const DISTILBERT_LN_EPS = 1e-12;

/**
 * Reference module path of a site in layer `i` of DistilBERT (adapter-transformers 3.2.1, relative to the base
 * model): LoRA wraps `attention.{q,k,v}_lin`, `ffn.lin1` (intermediate) and `ffn.lin2` (output); bottleneck
 * adapters live in `attention_adapters` / `output_adapters`; prefix tuning under `attention`. 3.2.1 never adapts
 * `attention.out_lin` (site `attention.outputProjection`, a PEFT target) and has no ReFT (site `layer`, the
 * `transformer.layer.{i}` block whose output `layer.output` sees); both are mapped for the methods that use them.
 */
export const distilbertModulePath: (site: ModuleSite, i: number) => string | undefined = modulePathTable(
  (i) => `transformer.layer.${i}`,
  {
    layer: '',
    'attention.self': 'attention',
    'attention.query': 'attention.q_lin',
    'attention.key': 'attention.k_lin',
    'attention.value': 'attention.v_lin',
    'attention.outputProjection': 'attention.out_lin',
    'attention.output': 'attention_adapters',
    'ffn.intermediate': 'ffn.lin1',
    'ffn.outputProjection': 'ffn.lin2',
    'ffn.output': 'output_adapters',
  },
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
  readonly oW: V2;
  readonly oB: V1;
  readonly saLnG: V1;
  readonly saLnB: V1;
  readonly w1: V2;
  readonly b1: V1;
  readonly w2: V2;
  readonly b2: V1;
  readonly outLnG: V1;
  readonly outLnB: V1;
}

/**
 * DistilBERT encoder (post-LN, no token types, no pooler), numerically equal to transformers 4.26
 * `DistilBertModel` as adapter-transformers 3.2.1 runs it.
 *
 * - embeddings: `LayerNorm(word[ids] + position[0..S-1])` → dropout → `embeddings.output`.
 * - each layer: `q/k/v_lin` (`attention.projection`), heads (`attention.kv`), `softmax(q·kᵀ/√d + mask)·v`,
 *   `out_lin` (`attention.outputProjection`), `attention.output` (add & `sa_layer_norm`); `ffn.lin1` (`ffn.intermediate`), activation,
 *   `ffn.lin2` (`ffn.outputProjection`), dropout, `ffn.output` (add & `output_layer_norm`), `layer.output`.
 * - output: `lastHiddenState [B, S, H]` only.
 */
export class DistilBertHost extends BaseHost {
  readonly info: ModelHostInfo;
  readonly wordEmbeddings: tf.Variable;
  private readonly posEmb: V2;
  private readonly embLnG: V1;
  private readonly embLnB: V1;
  private readonly layers: LayerWeights[];
  private readonly act: Activation;

  /** Use {@link loadHost}, {@link createHost} or {@link initHost}. @internal */
  constructor(config: ModelConfig, store: ParameterStore, notes: readonly string[]) {
    super(config, store, notes);
    const g2 = (n: string): V2 => store.get(n) as unknown as V2;
    const g1 = (n: string): V1 => store.get(n) as unknown as V1;
    this.wordEmbeddings = store.get('embeddings.word_embeddings.weight');
    this.posEmb = g2('embeddings.position_embeddings.weight');
    this.embLnG = g1('embeddings.LayerNorm.weight');
    this.embLnB = g1('embeddings.LayerNorm.bias');
    this.layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer.layer.${i}`;
      this.layers.push({
        qW: g2(`${p}.attention.q_lin.weight`),
        qB: g1(`${p}.attention.q_lin.bias`),
        kW: g2(`${p}.attention.k_lin.weight`),
        kB: g1(`${p}.attention.k_lin.bias`),
        vW: g2(`${p}.attention.v_lin.weight`),
        vB: g1(`${p}.attention.v_lin.bias`),
        oW: g2(`${p}.attention.out_lin.weight`),
        oB: g1(`${p}.attention.out_lin.bias`),
        saLnG: g1(`${p}.sa_layer_norm.weight`),
        saLnB: g1(`${p}.sa_layer_norm.bias`),
        w1: g2(`${p}.ffn.lin1.weight`),
        b1: g1(`${p}.ffn.lin1.bias`),
        w2: g2(`${p}.ffn.lin2.weight`),
        b2: g1(`${p}.ffn.lin2.bias`),
        outLnG: g1(`${p}.output_layer_norm.weight`),
        outLnB: g1(`${p}.output_layer_norm.bias`),
      });
    }
    this.act = getActivation(config.hiddenAct);
    this.info = makeInfo(config, store, {
      modelClass: 'DistilBertModel',
      baseModelPrefix: 'distilbert',
      hookPoints: BERT_HOOK_POINTS,
      modulePath: distilbertModulePath,
      hasPooler: false,
      hasLmHead: false,
      isDecoder: false,
      selfPrefixKey: 'self',
    });
  }

  protected run(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs {
    const cfg = this.config;
    const training = options.training;
    const rng = options.rng;
    if (inputs.tokenTypeIds) throw new AdapterKitError('BAD_INPUT', 'DistilBERT has no token types; do not pass tokenTypeIds');
    const ids = asInt(inputs.inputIds);
    const [B, S] = ids.shape;
    const H = cfg.hiddenSize;
    const nh = cfg.numHeads;

    let posEmb: tf.Tensor;
    if (inputs.positionIds) {
      posEmb = tf.gather(this.posEmb, asInt(inputs.positionIds));
    } else {
      checkLength(S, cfg.maxPositionEmbeddings, cfg.modelType);
      posEmb = tf.slice(this.posEmb, [0, 0], [S, H]);
    }
    const sum = tf.add(tf.gather(this.wordEmbeddings, ids), posEmb) as tf.Tensor3D;
    const emb = dropout(layerNorm(sum, this.embLnG, this.embLnB, DISTILBERT_LN_EPS), cfg.hiddenDropout, training, rng);
    let x = hooks.run('embeddings.output', -1, emb, (e) => e);
    if (x.shape[1] < S) {
      throw new AdapterKitError('BAD_HOOK_RESULT', `embeddings.output returned ${x.shape[1]} positions, fewer than the input's ${S}`);
    }
    let mask = additiveMask(inputs.attentionMask ? inputs.attentionMask : tf.ones([B, S], 'int32'));
    mask = alignMask(mask, x.shape[0], x.shape[1] - S);
    const scale = 1 / Math.sqrt(cfg.headDim);

    for (let i = 0; i < this.layers.length; i++) {
      const w = this.layers[i]!;
      mask = alignMask(mask, x.shape[0], 0);
      const input = x;
      const q = hooks.run('attention.projection', i, { site: 'query', x: input, y: linear(input, w.qW, w.qB) }, (p) => p.y);
      const k = hooks.run('attention.projection', i, { site: 'key', x: input, y: linear(input, w.kW, w.kB) }, (p) => p.y);
      const v = hooks.run('attention.projection', i, { site: 'value', x: input, y: linear(input, w.vW, w.vB) }, (p) => p.y);
      const kv = hooks.run('attention.kv', i, { key: splitHeads(k, nh), value: splitHeads(v, nh), mask, input }, (p) => p);
      // The reference scales q before the product (q / √d); the difference is float rounding.
      const scores = tf.add(batchMatMul(tf.mul(splitHeads(q, nh), scale), tf.transpose(kv.key, [0, 1, 3, 2])), kv.mask);
      const probs = dropout(tf.softmax(scores), cfg.attentionDropout, training, rng) as tf.Tensor4D;
      const ctx = mergeHeads(batchMatMul(probs, kv.value));
      const attnOut = hooks.run('attention.outputProjection', i, { site: 'attention_output', x: ctx, y: linear(ctx, w.oW, w.oB) }, (p) => p.y);
      const x1 = hooks.run(
        'attention.output',
        i,
        { hidden: attnOut, residual: input, layerNorm: (t) => layerNorm(t, w.saLnG, w.saLnB, DISTILBERT_LN_EPS) },
        addAndNorm,
      );
      const inter = hooks.run('ffn.intermediate', i, { site: 'intermediate', x: x1, y: linear(x1, w.w1, w.b1) }, (p) => p.y);
      const u = this.act(inter) as tf.Tensor3D;
      const out = hooks.run('ffn.outputProjection', i, { site: 'output', x: u, y: linear(u, w.w2, w.b2) }, (p) => p.y);
      x = hooks.run(
        'ffn.output',
        i,
        { hidden: dropout(out, cfg.hiddenDropout, training, rng), residual: x1, layerNorm: (t) => layerNorm(t, w.outLnG, w.outLnB, DISTILBERT_LN_EPS) },
        addAndNorm,
      );
      x = hooks.run('layer.output', i, x, (h) => h);
    }
    return { lastHiddenState: x };
  }
}

/** DistilBERT (`DistilBertModel`, adapter-transformers 3.2.1). */
export const DISTILBERT_ARCHITECTURE: Architecture = {
  modelTypes: ['distilbert'],
  parseConfig(r: ConfigReader, modelType: string): ModelConfig {
    const hiddenSize = r.posInt('dim', 768);
    const numHeads = r.posInt('n_heads', 12);
    const drop = r.rate('dropout', 0.1);
    return {
      modelType,
      hiddenSize,
      numLayers: r.posInt('n_layers', 6),
      numHeads,
      numKeyValueHeads: numHeads,
      headDim: hiddenSize / numHeads,
      intermediateSize: r.posInt('hidden_dim', 3072),
      hiddenAct: r.activation('activation', 'gelu'),
      layerNormEps: DISTILBERT_LN_EPS,
      headLayerNormEps: 1e-12,
      maxPositionEmbeddings: r.posInt('max_position_embeddings', 512),
      typeVocabSize: 0,
      vocabSize: r.posInt('vocab_size', 30522),
      padTokenId: r.optInt('pad_token_id', 0),
      hiddenDropout: drop,
      attentionDropout: r.rate('attention_dropout', 0.1),
      embeddingDropout: drop,
      initializerRange: r.positive('initializer_range', 0.02),
      scaleAttnWeights: true,
      scaleAttnByInverseLayerIdx: false,
      ropeTheta: 0,
      ropeScaling: null,
      tieWordEmbeddings: true,
      attentionBias: true,
      raw: r.json,
    };
  },
  baseModelPrefix: () => 'distilbert',
  positionOffset: () => 0,
  expectedWeights(config) {
    const H = config.hiddenSize;
    const I = config.intermediateSize;
    const w = new WeightList()
      .embedding('embeddings.word_embeddings.weight', config.vocabSize, H)
      .embedding('embeddings.position_embeddings.weight', config.maxPositionEmbeddings, H)
      .norm('embeddings.LayerNorm', H);
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer.layer.${i}`;
      w.linear(`${p}.attention.q_lin`, H, H)
        .linear(`${p}.attention.k_lin`, H, H)
        .linear(`${p}.attention.v_lin`, H, H)
        .linear(`${p}.attention.out_lin`, H, H)
        .norm(`${p}.sa_layer_norm`, H)
        .linear(`${p}.ffn.lin1`, I, H)
        .linear(`${p}.ffn.lin2`, H, I)
        .norm(`${p}.output_layer_norm`, H);
    }
    return w.specs;
  },
  isBuffer: (_config, name) => name === 'embeddings.position_ids',
  zeroRow: (config, name) =>
    name === 'embeddings.word_embeddings.weight' && config.padTokenId !== null && config.padTokenId >= 0 && config.padTokenId < config.vocabSize
      ? config.padTokenId
      : undefined,
  create: (config, store, notes) => new DistilBertHost(config, store, notes),
};
