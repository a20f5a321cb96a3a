import * as tf from '@tensorflow/tfjs-core';
import type { Architecture } from './architecture';
import { alignMask, asInt, BaseHost, batchMatMul, makeInfo, mergeHeads, type ModelHostInfo } from './base';
import type { ConfigReader, ModelConfig, RopeScaling } from './config-reader';
import {
  AdapterKitError,
  addAndNorm,
  additiveMask,
  FileFormatError,
  getActivation,
  linear,
  MASK_NEGATIVE,
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

/** Hook points a Llama-family host calls (`head.input` only when LM logits are requested). */
export const LLAMA_HOOK_POINTS: readonly HookPoint[] = [
  'embeddings.output',
  'attention.projection',
  'attention.kv',
  'attention.outputProjection',
  'attention.output',
  'ffn.gateProjection',
  'ffn.intermediate',
  'ffn.outputProjection',
  'ffn.output',
  'layer.output',
  'head.input',
];

/**
 * Reference module path of a site in decoder layer `i` (relative to the base model `model`), as `adapters` 1.1.0
 * places its modules on Llama: LoRA's `intermediate` site is **`mlp.down_proj`** and its `output` site
 * **`mlp.up_proj`** (the reverse of BERT's roles); `gate_proj` and `o_proj` are never adapted by `adapters` LoRA.
 * `attention.outputProjection` is `o_proj` (PEFT targets it: VeRA, `all-linear` LoRA) and `layer` the decoder layer
 * (ReFT's hook on the layer output).
 */
export const llamaModulePath: (site: ModuleSite, i: number) => string | undefined = modulePathTable(
  (i) => `layers.${i}`,
  {
    layer: '',
    'attention.self': 'self_attn',
    'attention.query': 'self_attn.q_proj',
    'attention.key': 'self_attn.k_proj',
    'attention.value': 'self_attn.v_proj',
    'attention.outputProjection': 'self_attn.o_proj',
    'attention.output': 'attention_adapters',
    'ffn.gateProjection': 'mlp.gate_proj',
    'ffn.intermediate': 'mlp.down_proj',
    'ffn.outputProjection': 'mlp.up_proj',
    'ffn.output': 'output_adapters',
  },
);

type V2 = tf.Tensor2D;
type V1 = tf.Tensor1D;

interface LayerWeights {
  readonly inNorm: V1;
  readonly qW: V2;
  readonly qB: V1 | undefined;
  readonly kW: V2;
  readonly kB: V1 | undefined;
  readonly vW: V2;
  readonly vB: V1 | undefined;
  readonly oW: V2;
  readonly postNorm: V1;
  readonly gateW: V2;
  readonly upW: V2;
  readonly downW: V2;
}

/** RMSNorm: `w · x / √(mean(x²) + ε)` over the last axis. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), x.rank - 1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight) as T;
  });
}

/**
 * RoPE inverse frequencies `1 / θ^(2i/d)` (float32 as transformers computes them), with `rope_scaling` applied
 * (`linear` scales positions instead, see `ropeTables`; `llama3` rescales the frequencies).
 */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  if (scaling?.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = scaling;
    const lowWavelen = old / lowFreqFactor;
    const highWavelen = old / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      let g = wavelen > lowWavelen ? f / factor : f;
      if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
        const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        g = ((1 - smooth) * g) / factor + smooth * g;
      }
      inv[i] = g;
    }
  }
  return inv;
}

/** cos/sin tables `[rows, 1, S, headDim]` for position ids `rows × S` (each half repeated, as `cat(freqs, freqs)`). */
function ropeTables(positions: readonly (readonly number[])[], inv: Float32Array, scaling: RopeScaling | null): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const rows = positions.length;
  const S = positions[0]!.length;
  const half = inv.length;
  const d = 2 * half;
  const cos = new Float32Array(rows * S * d);
  const sin = new Float32Array(rows * S * d);
  const posScale = scaling?.type === 'linear' ? 1 / scaling.factor : 1;
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < S; s++) {
      const p = Math.fround(positions[r]![s]! * posScale);
      const base = (r * S + s) * d;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(inv[i]! * p);
        const c = Math.cos(a);
        const sn = Math.sin(a);
        cos[base + i] = c;
        cos[base + half + i] = c;
        sin[base + i] = sn;
        sin[base + half + i] = sn;
      }
    }
  }
  return { cos: tf.tensor4d(cos, [rows, 1, S, d]), sin: tf.tensor4d(sin, [rows, 1, S, d]) };
}

/** `x·cos + rotate_half(x)·sin` with `rotate_half(x) = cat(−x₂, x₁)`, `x` `[B, heads, S, d]`. */
function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, 3);
  const rotated = tf.concat([tf.neg(x2!), x1!], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}

/** `[B, S, n·d]` → `[B, n, S, d]`. */
function heads(x: tf.Tensor3D, n: number, d: number): tf.Tensor4D {
  const [b, s] = x.shape;
  return tf.transpose(tf.reshape(x, [b, s, n, d]), [0, 2, 1, 3]);
}

/** `repeat_kv`: `[B, kvHeads, S, d]` → `[B, kvHeads·rep, S, d]` (query head h uses key/value head ⌊h / rep⌋). */
function repeatKv(x: tf.Tensor4D, rep: number): tf.Tensor4D {
  if (rep === 1) return x;
  const [b, n, s, d] = x.shape;
  // A broadcast multiply: its gradient is a sum over the copies (tfjs has no rank-5 tile gradient, and the split
  // that a concat's gradient needs is slow on wasm).
  return tf.reshape(tf.mul(tf.reshape(x, [b, n, 1, s, d]), tf.ones([1, 1, rep, 1, 1])), [b, n * rep, s, d]);
}

/** Additive causal mask `[1, 1, Sq, Sk]`: query t sees keys j ≤ t + (Sk − Sq) (prepended prefix keys and the cache). */
function causalMask(sq: number, sk: number): tf.Tensor4D {
  const rows = tf.reshape(tf.add(tf.range(0, sq, 1, 'int32'), sk - sq), [sq, 1]);
  const cols = tf.reshape(tf.range(0, sk, 1, 'int32'), [1, sk]);
  return tf.reshape(tf.mul(tf.cast(tf.greater(cols, rows), 'float32'), MASK_NEGATIVE), [1, 1, sq, sk]);
}

const CLASS_NAMES: Record<string, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' };

/**
 * Llama-family decoder (Llama 2/3, SmolLM, Qwen2), numerically equal to transformers 4.47 `LlamaForCausalLM` /
 * `Qwen2ForCausalLM` with eager attention, with `adapters` 1.1.0's module placements.
 *
 * - embeddings: `embed_tokens[ids]` → `embeddings.output`.
 * - each layer: `a = RMSNorm(x)`; `q/k/v_proj` (`attention.projection`; k/v `[B, S, kvHeads·d]`, Qwen2 biases);
 *   RoPE on q and k (`rope_theta`, `rope_scaling` linear/llama3); KV cache append; `repeat_kv` to every query head;
 *   `attention.kv` (prefix tuning: after `repeat_kv` and after RoPE, so prefixes have one key/value per query head
 *   and are never rotated); `softmax(q·kᵀ/√d + causal + padding)·v`, `o_proj` (`attention.outputProjection`), `attention.output` (`hidden +
 *   residual`); `m = RMSNorm(x)`, `up = up_proj(m)` (`ffn.outputProjection`), `u = silu(gate_proj(m))·up` (`ffn.gateProjection`),
 *   `down_proj(u)` (`ffn.intermediate`), `ffn.output`, `layer.output`.
 * - `norm` → `lastHiddenState [B, S, H]`; with `lmLogits`: `head.input`, then `lm_head` (or the tied embeddings)
 *   → `logits [B, S, V]`.
 *
 * Position ids default to `cache.length + 0..S−1` for every row (transformers' `cache_position`; padding does not
 * shift them). Pass `positionIds` for left-padded batches.
 */
export class LlamaHost extends BaseHost {
  readonly info: ModelHostInfo;
  readonly wordEmbeddings: tf.Variable;
  private readonly layers: LayerWeights[];
  private readonly finalNorm: V1;
  private readonly lmHead: tf.Variable | undefined;
  private readonly act: Activation;
  private readonly invFreq: Float32Array;

  /** Use {@link loadHost}, {@link createHost} or {@link initHost}. @internal */
  constructor(config: ModelConfig, store: ParameterStore, notes: readonly string[]) {
    super(config, store, notes);
    const g2 = (n: string): V2 => store.get(n) as unknown as V2;
    const g1 = (n: string): V1 => store.get(n) as unknown as V1;
    const b1 = (n: string): V1 | undefined => (config.attentionBias ? g1(n) : undefined);
    this.wordEmbeddings = store.get('embed_tokens.weight');
    this.layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `layers.${i}`;
      this.layers.push({
        inNorm: g1(`${p}.input_layernorm.weight`),
        qW: g2(`${p}.self_attn.q_proj.weight`),
        qB: b1(`${p}.self_attn.q_proj.bias`),
        kW: g2(`${p}.self_attn.k_proj.weight`),
        kB: b1(`${p}.self_attn.k_proj.bias`),
        vW: g2(`${p}.self_attn.v_proj.weight`),
        vB: b1(`${p}.self_attn.v_proj.bias`),
        oW: g2(`${p}.self_attn.o_proj.weight`),
        postNorm: g1(`${p}.post_attention_layernorm.weight`),
        gateW: g2(`${p}.mlp.gate_proj.weight`),
        upW: g2(`${p}.mlp.up_proj.weight`),
        downW: g2(`${p}.mlp.down_proj.weight`),
      });
    }
    this.finalNorm = g1('norm.weight');
    this.lmHead = config.tieWordEmbeddings ? undefined : store.get('lm_head.weight');
    this.act = getActivation(config.hiddenAct);
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    this.prepareTiedHead();
    const H = config.hiddenSize;
    const I = config.intermediateSize;
    this.info = makeInfo(config, store, {
      modelClass: CLASS_NAMES[config.modelType] ?? 'LlamaForCausalLM',
      baseModelPrefix: 'model',
      hookPoints: LLAMA_HOOK_POINTS,
      modulePath: llamaModulePath,
      moduleShape: (site) => {
        switch (site) {
          case 'attention.query':
            return { inDim: H, outDim: config.numHeads * config.headDim };
          case 'attention.key':
          case 'attention.value':
            return { inDim: H, outDim: config.numKeyValueHeads * config.headDim };
          case 'attention.outputProjection':
            return { inDim: config.numHeads * config.headDim, outDim: H }; // o_proj
          case 'layer':
            return { inDim: H, outDim: H }; // decoder layer: hidden state in and out
          case 'ffn.gateProjection':
            return { inDim: H, outDim: I }; // gate_proj
          case 'ffn.intermediate':
            return { inDim: I, outDim: H }; // down_proj
          case 'ffn.outputProjection':
            return { inDim: H, outDim: I }; // up_proj
          default:
            return undefined;
        }
      },
      hasPooler: false,
      hasLmHead: true,
      isDecoder: true,
      // The reference class is the *ForCausalLM, whose base model sits under `model`.
      stateDictPrefix: 'model.',
    });
  }

  /** The untied `lm_head.weight` `[vocab, hidden]` (kept in file layout, like an embedding), if the config unties it. */
  override get lmHeadWeight(): tf.Variable | undefined {
    return this.lmHead;
  }

  /** As {@link BaseHost.exportWeights}; the untied `lm_head.weight` sits outside the base model and never gets the prefix. */
  override exportWeights(prefix = ''): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, t] of super.exportWeights()) out.set(name === 'lm_head.weight' ? name : prefix + name, t);
    return out;
  }

  protected run(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs {
    const cfg = this.config;
    const cache = options.cache;
    if (inputs.tokenTypeIds) throw new AdapterKitError('BAD_INPUT', `${cfg.modelType} has no token types; do not pass tokenTypeIds`);
    const ids = asInt(inputs.inputIds);
    const [B, S] = ids.shape;
    const past = cache?.length ?? 0;
    const nh = cfg.numHeads;
    const nkv = cfg.numKeyValueHeads;
    const d = cfg.headDim;
    const eps = cfg.layerNormEps;

    if (inputs.attentionMask && inputs.attentionMask.shape[1] !== past + S) {
      throw new AdapterKitError('BAD_INPUT', `attentionMask covers ${inputs.attentionMask.shape[1]} positions; with ${past} cached and ${S} new it must cover ${past + S}`);
    }
    let positions: number[][];
    if (inputs.positionIds) {
      positions = inputs.positionIds.arraySync() as number[][];
    } else {
      // RoPE has no position table: like transformers, longer sequences than max_position_embeddings run (and extrapolate).
      positions = [Array.from({ length: S }, (_, s) => past + s)];
    }
    let { cos, sin } = ropeTables(positions, this.invFreq, cfg.ropeScaling);

    let x = hooks.run('embeddings.output', -1, tf.gather(this.wordEmbeddings, ids) as tf.Tensor3D, (e) => e);
    if (x.shape[1] !== S) {
      throw new AdapterKitError('BAD_HOOK_RESULT', `embeddings.output changed the sequence length (${S} → ${x.shape[1]}); ${cfg.modelType} hosts do not support prompt tokens`);
    }
    if (cos.shape[0] > 1 && cos.shape[0] !== x.shape[0]) {
      // Per-row positions and a batch the embeddings hook replicated (Parallel composition): replicate the tables too.
      const reps = x.shape[0] / cos.shape[0];
      if (!Number.isInteger(reps)) throw new AdapterKitError('BAD_HOOK_RESULT', `hidden-state batch ${x.shape[0]} is not a multiple of the input batch ${cos.shape[0]}`);
      cos = tf.tile(cos, [reps, 1, 1, 1]);
      sin = tf.tile(sin, [reps, 1, 1, 1]);
    }
    let mask = additiveMask(inputs.attentionMask ? inputs.attentionMask : tf.ones([B, past + S], 'int32'));
    mask = alignMask(mask, x.shape[0], 0);
    const scale = 1 / Math.sqrt(d);
    const rep = nh / nkv;

    for (let i = 0; i < this.layers.length; i++) {
      const w = this.layers[i]!;
      const rows = x.shape[0];
      mask = alignMask(mask, rows, 0);
      const residual = x;
      const a = rmsNorm(x, w.inNorm, eps);
      const q = hooks.run('attention.projection', i, { site: 'query', x: a, y: linear(a, w.qW, w.qB) }, (p) => p.y);
      const k = hooks.run('attention.projection', i, { site: 'key', x: a, y: linear(a, w.kW, w.kB) }, (p) => p.y);
      const v = hooks.run('attention.projection', i, { site: 'value', x: a, y: linear(a, w.vW, w.vB) }, (p) => p.y);
      const qh = applyRope(heads(q, nh, d), cos, sin);
      let kh = applyRope(heads(k, nkv, d), cos, sin);
      let vh = heads(v, nkv, d);
      if (cache) {
        const prev = cache.get(i);
        if (prev) {
          kh = tf.concat([prev.key, kh], 2);
          vh = tf.concat([prev.value, vh], 2);
        }
        cache.set(i, kh, vh);
      }
      const kv = hooks.run('attention.kv', i, { key: repeatKv(kh, rep), value: repeatKv(vh, rep), mask, input: a }, (p) => p);
      const sk = kv.key.shape[2];
      let scores: tf.Tensor = tf.mul(batchMatMul(qh, tf.transpose(kv.key, [0, 1, 3, 2])), scale);
      scores = tf.add(tf.add(scores, causalMask(S, sk)), kv.mask);
      const ctx = mergeHeads(batchMatMul(tf.softmax(scores) as tf.Tensor4D, kv.value));
      const o = hooks.run('attention.outputProjection', i, { site: 'attention_output', x: ctx, y: linear(ctx, w.oW) }, (p) => p.y);
      x = hooks.run('attention.output', i, { hidden: o, residual, layerNorm: undefined }, addAndNorm);

      const residual2 = x;
      const m = rmsNorm(x, w.postNorm, eps);
      const up = hooks.run('ffn.outputProjection', i, { site: 'output', x: m, y: linear(m, w.upW) }, (p) => p.y);
      const gate = hooks.run('ffn.gateProjection', i, { site: 'gate', x: m, y: linear(m, w.gateW) }, (p) => p.y);
      const u = tf.mul(this.act(gate), up) as tf.Tensor3D;
      const down = hooks.run('ffn.intermediate', i, { site: 'intermediate', x: u, y: linear(u, w.downW) }, (p) => p.y);
      x = hooks.run('ffn.output', i, { hidden: down, residual: residual2, layerNorm: undefined }, addAndNorm);
      // The decoder layer's output (before the final RMSNorm), where `adapters` 1.1 hooks ReFT.
      x = hooks.run('layer.output', i, x, (h) => h);
    }

    const lastHiddenState = rmsNorm(x, this.finalNorm, eps);
    if (!options.lmLogits) return { lastHiddenState };
    const h = hooks.run('head.input', -1, lastHiddenState, (t) => t);
    const logits = this.tiedLogits(h);
    return { lastHiddenState, logits };
  }
}

function parseRopeScaling(r: ConfigReader): RopeScaling | null {
  const v = r.json['rope_scaling'];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) r.fail('rope_scaling', 'an object or null');
  const o = v as Record<string, unknown>;
  const type = o['rope_type'] ?? o['type'];
  const num = (key: string, dflt?: number): number => {
    const x = o[key] ?? dflt;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) r.fail('rope_scaling', `an object whose "${key}" is a positive number`);
    return x;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type, factor: num('factor') };
  if (type === 'llama3') {
    return {
      type,
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
    };
  }
  throw new FileFormatError('UNSUPPORTED_MODEL_CONFIG', `${r.source}: "rope_scaling" type ${JSON.stringify(type ?? null)} is not supported (supported: linear, llama3)`);
}

/** Llama-family decoders: `llama` (Llama 2/3, SmolLM) and `qwen2` (q/k/v biases), transformers 4.47 configs. */
export const LLAMA_ARCHITECTURE: Architecture = {
  modelTypes: ['llama', 'qwen2'],
  parseConfig(r: ConfigReader, modelType: string): ModelConfig {
    const qwen = modelType === 'qwen2';
    const hiddenSize = r.posInt('hidden_size', 4096);
    const numHeads = r.posInt('num_attention_heads', 32);
    r.unsupported('mlp_bias', (v) => v === false, 'MLP biases');
    r.unsupported('use_sliding_window', (v) => v === false, 'sliding-window attention');
    const numKeyValueHeads = r.json['num_key_value_heads'] == null ? numHeads : r.posInt('num_key_value_heads', numHeads);
    const headDim = !qwen && r.json['head_dim'] != null ? r.posInt('head_dim', hiddenSize / numHeads) : hiddenSize / numHeads;
    return {
      modelType,
      hiddenSize,
      numLayers: r.posInt('num_hidden_layers', 32),
      numHeads,
      numKeyValueHeads,
      headDim,
      intermediateSize: r.posInt('intermediate_size', qwen ? 22016 : 11008),
      hiddenAct: r.activation('hidden_act', 'silu'),
      layerNormEps: r.positive('rms_norm_eps', 1e-6),
      headLayerNormEps: 1e-12,
      maxPositionEmbeddings: r.posInt('max_position_embeddings', qwen ? 32768 : 2048),
      typeVocabSize: 0,
      vocabSize: r.posInt('vocab_size', qwen ? 151936 : 32000),
      padTokenId: r.optInt('pad_token_id', null),
      hiddenDropout: 0,
      attentionDropout: r.rate('attention_dropout', 0),
      embeddingDropout: 0,
      initializerRange: r.positive('initializer_range', 0.02),
      scaleAttnWeights: true,
      scaleAttnByInverseLayerIdx: false,
      ropeTheta: r.positive('rope_theta', 10000),
      ropeScaling: parseRopeScaling(r),
      tieWordEmbeddings: r.bool('tie_word_embeddings', false),
      attentionBias: qwen ? true : r.bool('attention_bias', false),
      raw: r.json,
    };
  },
  baseModelPrefix: () => 'model',
  positionOffset: () => 0,
  expectedWeights(config) {
    const H = config.hiddenSize;
    const I = config.intermediateSize;
    const q = config.numHeads * config.headDim;
    const kv = config.numKeyValueHeads * config.headDim;
    const bias = config.attentionBias;
    const w = new WeightList().embedding('embed_tokens.weight', config.vocabSize, H);
    for (let i = 0; i < config.numLayers; i++) {
      const p = `layers.${i}`;
      w.norm(`${p}.input_layernorm`, H, false)
        .linear(`${p}.self_attn.q_proj`, q, H, { bias })
        .linear(`${p}.self_attn.k_proj`, kv, H, { bias })
        .linear(`${p}.self_attn.v_proj`, kv, H, { bias })
        .linear(`${p}.self_attn.o_proj`, H, q, { bias: false })
        .norm(`${p}.post_attention_layernorm`, H, false)
        .linear(`${p}.mlp.gate_proj`, I, H, { bias: false })
        .linear(`${p}.mlp.up_proj`, I, H, { bias: false })
        .linear(`${p}.mlp.down_proj`, H, I, { bias: false });
    }
    w.norm('norm', H, false);
    // Untied LM head: kept `[vocab, hidden]` as in the file (an output embedding; logits go through the kept transpose).
    if (!config.tieWordEmbeddings) w.embedding('lm_head.weight', config.vocabSize, H);
    return w.specs;
  },
  isBuffer: (_config, name) => /^layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name) || name === 'rotary_emb.inv_freq',
  create: (config, store, notes) => new LlamaHost(config, store, notes),
};
