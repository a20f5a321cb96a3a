import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../nn/init';
import type { CompositionBlock } from '../composition/blocks';

/**
 * The typed hook-point catalog. A host (Transformer implementation) calls the dispatcher at each of these
 * sites in its forward code; a method's handler wraps the step. Adding a point is a minor change, renaming one
 * is a major change.
 */

/** The pre-trained LayerNorm of a sub-layer, `[.., hidden] -> [.., hidden]`. Absent on pre-LN hosts (GPT-2). */
export type LayerNormFn = (x: tf.Tensor) => tf.Tensor;

/**
 * Payload of the two sub-layer points (`attention.output`, `ffn.output`).
 * The terminal (no adapter) computes `layerNorm(hidden + residual)` (post-LN hosts) or `hidden + residual`
 * (pre-LN hosts, `layerNorm` undefined); see {@link addAndNorm}.
 */
export interface SublayerPayload {
  /** Sub-layer output after its dense projection and dropout, `[batch, seq, hidden]`. */
  readonly hidden: tf.Tensor3D;
  /** Sub-layer input (the residual stream), `[batch, seq, hidden]`. */
  readonly residual: tf.Tensor3D;
  /** The frozen pre-trained LayerNorm of the sub-layer; undefined on pre-LN hosts. */
  readonly layerNorm?: LayerNormFn;
  /**
   * When true the terminal returns `hidden` unchanged (the last adapter of a setup has
   * `original_ln_after = false`). Set by handlers, never by hosts.
   */
  readonly skipAddNorm?: boolean;
}

/** Which projection of the attention block an `attention.projection` call is about. `qkv` = fused (GPT-2 c_attn). */
export type ProjectionSite = 'query' | 'key' | 'value' | 'qkv';

/** Payload of a projection point: the layer input and the frozen projection's output. */
export interface ProjectionPayload<S extends string = string> {
  readonly site: S;
  /** Input of the dense layer, `[batch, seq, in]`. */
  readonly x: tf.Tensor3D;
  /** Output of the frozen dense layer (bias included), `[batch, seq, out]`. */
  readonly y: tf.Tensor3D;
}

/** Payload of `attention.kv`: per-head keys/values and the additive attention mask. */
export interface KeyValuePayload {
  /** `[batch, heads, keyLen, headDim]` */
  readonly key: tf.Tensor4D;
  /** `[batch, heads, keyLen, headDim]` */
  readonly value: tf.Tensor4D;
  /** Additive padding mask `[batch, 1, 1, keyLen]`: 0 = attend, large negative = masked. */
  readonly mask: tf.Tensor4D;
  /** The attention block's input `[batch, seq, hidden]` (BERT: the layer input; GPT-2: `ln_1(x)`), for gates. */
  readonly input?: tf.Tensor3D;
}

/** Payload → result types of every hook point. */
export interface HookPointTypes {
  /** Embeddings output `[batch, seq, hidden]` → same. Used by invertible adapters (forward), prompt tuning. */
  'embeddings.output': { payload: tf.Tensor3D; result: tf.Tensor3D };
  /** Attention projections (query/key/value or fused qkv) → new projection output. LoRA, (IA)³. */
  'attention.projection': { payload: ProjectionPayload<ProjectionSite>; result: tf.Tensor3D };
  /** Keys/values/mask before attention scores → same. Prefix tuning. */
  'attention.kv': { payload: KeyValuePayload; result: KeyValuePayload };
  /**
   * The attention output dense (`[.., hidden] → [.., hidden]`: BERT `attention.output.dense`, GPT-2 `attn.c_proj`),
   * before its dropout → new output. PEFT (IA)³ and LoRA on every linear layer.
   */
  'attention.outputProjection': { payload: ProjectionPayload<'attention_output'>; result: tf.Tensor3D };
  /** After the attention output projection, before/around add & norm → new hidden. Bottleneck `mh_adapter`. */
  'attention.output': { payload: SublayerPayload; result: tf.Tensor3D };
  /**
   * The gate dense of a gated FFN (`[.., hidden] → [.., intermediate]`, before the activation: Llama `mlp.gate_proj`)
   * → new output. PEFT LoRA on every linear layer.
   */
  'ffn.gateProjection': { payload: ProjectionPayload<'gate'>; result: tf.Tensor3D };
  /** FFN intermediate dense (`[.., hidden] → [.., intermediate]`, before the activation) → new output. LoRA/(IA)³. */
  'ffn.intermediate': { payload: ProjectionPayload<'intermediate'>; result: tf.Tensor3D };
  /** FFN output dense (`[.., intermediate] → [.., hidden]`) → new output. LoRA `output_lora`. */
  'ffn.outputProjection': { payload: ProjectionPayload<'output'>; result: tf.Tensor3D };
  /** After the FFN output projection, around add & norm → new hidden. Bottleneck `output_adapter`. */
  'ffn.output': { payload: SublayerPayload; result: tf.Tensor3D };
  /**
   * Output of a whole Transformer layer `[batch, seq, hidden]` → same: after the FFN sub-layer's add & norm on post-LN
   * hosts (BERT), the residual stream leaving the block on pre-LN hosts (GPT-2, before any final LayerNorm).
   * ReFT (the reference's forward hook on each layer module).
   */
  'layer.output': { payload: tf.Tensor3D; result: tf.Tensor3D };
  /**
   * The pooler dense (BERT `pooler.dense`, before its tanh): `x` is the first position `[batch, 1, hidden]`, the
   * result `[batch, 1, hidden]`. Model-level (layer -1); called only by hosts with a pooler. PEFT LoRA on every linear
   * layer.
   */
  'pooler.projection': { payload: ProjectionPayload<'pooler'>; result: tf.Tensor3D };
  /** Hidden states entering an LM head `[batch, seq, hidden]` → same. Invertible adapters (inverse). */
  'head.input': { payload: tf.Tensor3D; result: tf.Tensor3D };
}

/** Name of a hook point. */
export type HookPoint = keyof HookPointTypes;
/** Payload type of hook point `P`. */
export type HookPayload<P extends HookPoint> = HookPointTypes[P]['payload'];
/** Result type of hook point `P`. */
export type HookResult<P extends HookPoint> = HookPointTypes[P]['result'];

/** Every hook point, in forward order. */
export const HOOK_POINTS: readonly HookPoint[] = [
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
  'pooler.projection',
  'head.input',
];

/** Points called once per forward rather than once per layer; they are dispatched with layer `-1`. */
export const MODEL_LEVEL_POINTS: ReadonlySet<HookPoint> = new Set<HookPoint>(['embeddings.output', 'pooler.projection', 'head.input']);

/** What the host does at a point when no adapter is active there. */
export type Terminal<P extends HookPoint> = (payload: HookPayload<P>) => HookResult<P>;

/** Information about the forward pass in progress, available to handlers. */
export interface ForwardInfo {
  readonly batchSize: number;
  readonly seqLength: number;
  readonly training: boolean;
  /**
   * The forward's random source (dropout masks), present exactly when `training` is: seeded from
   * `forward({ training: true, seed })`. Pass it to `dropout`; never draw from `Math.random`.
   */
  readonly rng?: Rng;
  /** `[batch, seq]` 1 = token, 0 = padding. */
  readonly attentionMask?: tf.Tensor2D;
  /** The active setup of this forward (set by the dispatcher). */
  readonly setup?: CompositionBlock;
  /** The first adapter of the active setup (the reference's `setup.first()`, which supplies the invertible adapter). */
  readonly firstAdapter?: string;
  /**
   * Channels of a Parallel setup (set by the dispatcher when above 1). The batch is then replicated this many times
   * at `embeddings.output`, so later points see `parallelChannels × batchSize` rows, channel i = rows
   * `[i·batchSize, (i+1)·batchSize)`.
   */
  readonly parallelChannels?: number;
}

/** Context handed to a handler at call time. */
export interface HookContext<S = unknown> {
  /** Layer index, or -1 for model-level points. */
  readonly layer: number;
  /** Name of the adapter whose handler runs. */
  readonly adapter: string;
  /** The per-forward state this adapter's `beginForward` returned (undefined if it has none). */
  readonly state: S;
  readonly forward: ForwardInfo;
}

/**
 * An around-style handler: it receives the payload and `next` (the rest of the chain, ending at the host's
 * terminal). It may transform the payload and call `next`, post-process the result of `next`, or replace the step.
 */
export type Handler<P extends HookPoint, S = unknown> = (
  payload: HookPayload<P>,
  next: (payload: HookPayload<P>) => HookResult<P>,
  ctx: HookContext<S>,
) => HookResult<P>;

/** Per-point handler factories of a method instance: `layer → handler`, or undefined where it does not act. */
export type HandlerTable<S = unknown> = {
  [P in HookPoint]?: (layer: number) => Handler<P, S> | undefined;
};

/** What a host calls at each site. */
export interface HookRunner {
  run<P extends HookPoint>(point: P, layer: number, payload: HookPayload<P>, terminal: Terminal<P>): HookResult<P>;
}

/** A runner with nothing active: every site is its terminal. */
export const NO_HOOKS: HookRunner = {
  run: (_point, _layer, payload, terminal) => terminal(payload),
};
