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
  MASK_NEGATIVE,
  type Activation,
  type HookPlacement,
  type HookPoint,
  type HookRunner,
  type HostForwardOptions,
  type ModelInputs,
  type ModelOutputs,
  type ModuleSite,
} from './core';
import { modulePathTable } from './module-paths';
import { WeightList, type ParameterStore } from './weights';

/**
 * Hook points of the GPT-2 host. `embeddings.output` runs on the token embeddings (see {@link GPT2_HOOK_PLACEMENT});
 * `head.input` is run by flex causal-LM heads (`AdapterModel.runHook`), not by the host's static LM head.
 */
export const GPT2_HOOK_POINTS: readonly HookPoint[] = [
  'embeddings.output',
  'attention.projection',
  'attention.kv',
  'attention.outputProjection',
  'attention.output',
  'ffn.intermediate',
  'ffn.outputProjection',
  'ffn.output',
  'layer.output',
  'head.input',
];

/**
 * Where adapter-transformers 3.2.1 applies invertible adapters on GPT-2: to the token embeddings, before position
 * embeddings are added (`inputs_embeds = self.invertible_adapters_forward(inputs_embeds)`), and `GPT2LMHeadModel`'s
 * static head applies no inverse (the flex causal-LM head does).
 */
export const GPT2_HOOK_PLACEMENT: HookPlacement = Object.freeze({ embeddings: 'token', staticHeadInverse: false });

/** Reference module path of a site in block `i` of GPT-2 (relative to `transformer`). */
export const gpt2ModulePath: (site: ModuleSite, i: number) => string | undefined = modulePathTable(
  (i) => `h.${i}`,
  {
    layer: '',
    'attention.self': 'attn',
    'attention.qkv': 'attn.c_attn',
    'attention.outputProjection': 'attn.c_proj',
    'attention.output': 'attention_adapters',
    'ffn.intermediate': 'mlp.c_fc',
    'ffn.outputProjection': 'mlp.c_proj',
    'ffn.output': 'output_adapters',
  },
);

type V2 = tf.Tensor2D;
type V1 = tf.Tensor1D;

interface BlockWeights {
  readonly ln1G: V1;
  readonly ln1B: V1;
  readonly attnW: V2;
  readonly attnB: V1;
  readonly projW: V2;
  readonly projB: V1;
  readonly ln2G: V1;
  readonly ln2B: V1;
  readonly fcW: V2;
  readonly fcB: V1;
  readonly mprojW: V2;
  readonly mprojB: V1;
}

/**
 * Additive causal mask `[1, 1, Sq, Sk]`: query `t` sees keys `j ≤ t + (Sk − Sq)` (HF's `bias[Sk-Sq:Sk, :Sk]`,
 * so keys prepended by a hook are visible to every query).
 */
function causalMask(sq: number, sk: number): tf.Tensor4D {
  const rows = tf.reshape(tf.add(tf.range(0, sq, 1, 'int32'), sk - sq), [sq, 1]);
  const cols = tf.reshape(tf.range(0, sk, 1, 'int32'), [1, sk]);
  const blocked = tf.cast(tf.greater(cols, rows), 'float32');
  return tf.reshape(tf.mul(blocked, MASK_NEGATIVE), [1, 1, sq, sk]);
}

/**
 * GPT-2 (pre-LN decoder), numerically equal to transformers 4.26 `GPT2Model` (+ the tied LM head of
 * `GPT2LMHeadModel` when `lmLogits` is set).
 *
 * - embeddings: `embeddings.output(wte[ids]) + wpe[0..S-1]` (+ `wte[tokenTypeIds]` if given) → dropout (the hook sits
 *   on the token embeddings, as the reference's invertible adapters; positions a hook prepends get no position
 *   embedding).
 * - each block: `a = ln_1(x)`, fused `c_attn` (`attention.projection`, site `qkv`, `[B, S, 3H]`), heads
 *   (`attention.kv`), causal + padding masked softmax attention, `c_proj` + dropout, `attention.output`
 *   (`hidden + residual`); `m = ln_2(x)`, `c_fc` (`ffn.intermediate`), `gelu_new`, `mlp.c_proj`
 *   (`ffn.outputProjection`), dropout, `ffn.output`.
 * - `ln_f` → `lastHiddenState [B, S, H]`; with `lmLogits`: `logits = lastHiddenState · wteᵀ [B, S, V]` (the static
 *   head: no `head.input`, see {@link GPT2_HOOK_PLACEMENT}).
 * - with a key/value cache: positions continue at `cache.length`, keys/values are appended before `attention.kv`.
 */
export class Gpt2Host extends BaseHost {
  readonly info: ModelHostInfo;
  readonly wordEmbeddings: tf.Variable;
  private readonly wpe: V2;
  private readonly blocks: BlockWeights[];
  private readonly lnFG: V1;
  private readonly lnFB: V1;
  private readonly act: Activation;

  /** Use {@link loadHost}, {@link createHost} or {@link initHost}. @internal */
  constructor(config: ModelConfig, store: ParameterStore, notes: readonly string[]) {
    super(config, store, notes);
    if (config.modelType !== 'gpt2') throw new AdapterKitError('BAD_CONFIG', 'Gpt2Host needs a gpt2 config');
    const g2 = (n: string): V2 => store.get(n) as unknown as V2;
    const g1 = (n: string): V1 => store.get(n) as unknown as V1;
    this.wordEmbeddings = store.get('wte.weight');
    this.wpe = g2('wpe.weight');
    this.blocks = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `h.${i}`;
      this.blocks.push({
        ln1G: g1(`${p}.ln_1.weight`),
        ln1B: g1(`${p}.ln_1.bias`),
        attnW: g2(`${p}.attn.c_attn.weight`),
        attnB: g1(`${p}.attn.c_attn.bias`),
        projW: g2(`${p}.attn.c_proj.weight`),
        projB: g1(`${p}.attn.c_proj.bias`),
        ln2G: g1(`${p}.ln_2.weight`),
        ln2B: g1(`${p}.ln_2.bias`),
        fcW: g2(`${p}.mlp.c_fc.weight`),
        fcB: g1(`${p}.mlp.c_fc.bias`),
        mprojW: g2(`${p}.mlp.c_proj.weight`),
        mprojB: g1(`${p}.mlp.c_proj.bias`),
      });
    }
    this.lnFG = g1('ln_f.weight');
    this.lnFB = g1('ln_f.bias');
    this.act = getActivation(config.hiddenAct);
    this.prepareTiedHead();
    this.info = makeInfo(config, store, {
      modelClass: 'GPT2Model',
      baseModelPrefix: 'transformer',
      hookPoints: GPT2_HOOK_POINTS,
      modulePath: gpt2ModulePath,
      hasPooler: false,
      hasLmHead: true,
      isDecoder: true,
      weightLayout: 'conv1d',
      hookPlacement: GPT2_HOOK_PLACEMENT,
    });
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
    const cache = options.cache;
    const past = cache?.length ?? 0;
    if (inputs.attentionMask && inputs.attentionMask.shape[1] !== past + S) {
      throw new AdapterKitError('BAD_INPUT', `attentionMask covers ${inputs.attentionMask.shape[1]} positions; with ${past} cached and ${S} new it must cover ${past + S}`);
    }

    let pos: tf.Tensor;
    if (inputs.positionIds) {
      pos = tf.gather(this.wpe, asInt(inputs.positionIds));
    } else {
      checkLength(past + S, cfg.maxPositionEmbeddings, 'gpt2');
      pos = tf.slice(this.wpe, [past, 0], [S, H]);
    }
    const tokens = tf.gather(this.wordEmbeddings, ids) as tf.Tensor3D;
    const hooked = hooks.run('embeddings.output', -1, tokens, (e) => e);
    if (hooked.shape[1] < S) {
      throw new AdapterKitError('BAD_HOOK_RESULT', `embeddings.output returned ${hooked.shape[1]} positions, fewer than the input's ${S}`);
    }
    // positions (+ token types) go to the last S positions of every row (rows replicated by a Parallel setup too)
    let extra: tf.Tensor = tf.reshape(pos, [-1, S, H]);
    if (inputs.tokenTypeIds) extra = tf.add(extra, tf.gather(this.wordEmbeddings, asInt(inputs.tokenTypeIds)));
    if (extra.shape[0] !== 1 && extra.shape[0] !== hooked.shape[0]) extra = tf.tile(extra, [hooked.shape[0] / extra.shape[0]!, 1, 1]);
    if (hooked.shape[1] > S) extra = tf.pad(extra, [[0, 0], [hooked.shape[1] - S, 0], [0, 0]]);
    let x = dropout(tf.add(hooked, extra) as tf.Tensor3D, cfg.embeddingDropout, training, rng);

    let mask = inputs.attentionMask ? additiveMask(inputs.attentionMask) : (tf.zeros([B, 1, 1, past + S]) as tf.Tensor4D);
    if (cache && x.shape[1] !== S) {
      throw new AdapterKitError('BAD_HOOK_RESULT', 'embeddings.output changed the sequence length, which a key/value cache cannot follow');
    }
    mask = alignMask(mask, x.shape[0], x.shape[1] - S);
    const headDim = H / nh;

    for (let i = 0; i < this.blocks.length; i++) {
      const w = this.blocks[i]!;
      mask = alignMask(mask, x.shape[0], 0);
      let scale = cfg.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1;
      if (cfg.scaleAttnByInverseLayerIdx) scale /= i + 1;

      // attention sub-layer (pre-LN)
      const residual = x;
      const a = layerNorm(x, w.ln1G, w.ln1B, eps);
      const qkv = hooks.run('attention.projection', i, { site: 'qkv', x: a, y: linear(a, w.attnW, w.attnB) }, (p) => p.y);
      const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      let kh = splitHeads(k, nh);
      let vh = splitHeads(v, nh);
      if (cache) {
        const prev = cache.get(i);
        if (prev) {
          kh = tf.concat([prev.key, kh], 2);
          vh = tf.concat([prev.value, vh], 2);
        }
        cache.set(i, kh, vh);
      }
      const kv = hooks.run('attention.kv', i, { key: kh, value: vh, mask, input: a }, (p) => p);
      const sq = q.shape[1];
      const sk = kv.key.shape[2];
      let scores: tf.Tensor = batchMatMul(splitHeads(q, nh), tf.transpose(kv.key, [0, 1, 3, 2]));
      if (scale !== 1) scores = tf.mul(scores, scale);
      scores = tf.add(tf.add(scores, causalMask(sq, sk)), kv.mask);
      const probs = dropout(tf.softmax(scores), cfg.attentionDropout, training, rng) as tf.Tensor4D;
      const ctx = mergeHeads(batchMatMul(probs, kv.value));
      const proj = hooks.run('attention.outputProjection', i, { site: 'attention_output', x: ctx, y: linear(ctx, w.projW, w.projB) }, (p) => p.y);
      const o = dropout(proj, cfg.hiddenDropout, training, rng);
      x = hooks.run('attention.output', i, { hidden: o, residual, layerNorm: undefined }, addAndNorm);

      // MLP sub-layer (pre-LN)
      const residual2 = x;
      const m = layerNorm(x, w.ln2G, w.ln2B, eps);
      const f = hooks.run('ffn.intermediate', i, { site: 'intermediate', x: m, y: linear(m, w.fcW, w.fcB) }, (p) => p.y);
      const u = this.act(f) as tf.Tensor3D;
      const g = hooks.run('ffn.outputProjection', i, { site: 'output', x: u, y: linear(u, w.mprojW, w.mprojB) }, (p) => p.y);
      x = hooks.run('ffn.output', i, { hidden: dropout(g, cfg.hiddenDropout, training, rng), residual: residual2, layerNorm: undefined }, addAndNorm);
      x = hooks.run('layer.output', i, x, (h) => h);
    }

    const lastHiddenState = layerNorm(x, this.lnFG, this.lnFB, eps);
    if (!options.lmLogits) return { lastHiddenState };
    const logits = this.tiedLogits(lastHiddenState);
    return { lastHiddenState, logits };
  }
}

/** GPT-2 (`GPT2Model`; pre-LN decoder with HF Conv1D projections and a tied LM head). */
export const GPT2_ARCHITECTURE: Architecture = {
  modelTypes: ['gpt2'],
  parseConfig(r: ConfigReader, modelType: string): ModelConfig {
    const hiddenSize = r.posInt('n_embd', 768);
    const inner = r.optInt('n_inner', null);
    if (inner !== null && inner <= 0) r.posInt('n_inner', 1);
    const resid = r.rate('resid_pdrop', 0.1);
    r.unsupported('add_cross_attention', (v) => v === false, 'GPT-2 with cross-attention');
    const numHeads = r.posInt('n_head', 12);
    return {
      modelType,
      hiddenSize,
      numLayers: r.posInt('n_layer', 12),
      numHeads,
      numKeyValueHeads: numHeads,
      headDim: hiddenSize / numHeads,
      intermediateSize: inner ?? 4 * hiddenSize,
      hiddenAct: r.activation('activation_function', 'gelu_new'),
      layerNormEps: r.positive('layer_norm_epsilon', 1e-5),
      // GPT2Config has no `layer_norm_eps` attribute: heads use the reference's getattr default.
      headLayerNormEps: 1e-12,
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
      ropeTheta: 0,
      ropeScaling: null,
      tieWordEmbeddings: true,
      attentionBias: true,
      raw: r.json,
    };
  },
  baseModelPrefix: () => 'transformer',
  positionOffset: () => 0,
  expectedWeights(config) {
    const H = config.hiddenSize;
    const I = config.intermediateSize;
    const w = new WeightList().embedding('wte.weight', config.vocabSize, H).embedding('wpe.weight', config.maxPositionEmbeddings, H);
    for (let i = 0; i < config.numLayers; i++) {
      const p = `h.${i}`;
      w.norm(`${p}.ln_1`, H)
        .conv1d(`${p}.attn.c_attn`, H, 3 * H)
        .conv1d(`${p}.attn.c_proj`, H, H)
        .norm(`${p}.ln_2`, H)
        .conv1d(`${p}.mlp.c_fc`, H, I)
        .conv1d(`${p}.mlp.c_proj`, I, H);
    }
    return w.norm('ln_f', H).specs;
  },
  isBuffer: (_config, name) => /^h\.\d+\.attn\.(bias|masked_bias)$/.test(name),
  create: (config, store, notes) => new Gpt2Host(config, store, notes),
};
