import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config-reader';
import {
  AdapterKitError,
  AdapterStateError,
  dropoutOp,
  type Rng,
  linear,
  type HookPlacement,
  type HookPoint,
  type HostForwardOptions,
  type HostInfo,
  type HookRunner,
  type ModelInputs,
  type ModelOutputs,
  type ModuleSite,
  type ParamLayout,
  type TransformerHost,
} from './core';
import type { ParameterStore } from './weights';

/**
 * A {@link TransformerHost} built by this package: the core host contract plus the parsed config, load notes and
 * the file/memory layout of every parameter (so weights can be written back in HF layout).
 */
export interface ModelHost extends TransformerHost {
  readonly config: ModelConfig;
  readonly info: ModelHostInfo;
  /** Remarks from loading (ignored head weights / buffers, missing pooler), empty for a clean base checkpoint. */
  readonly notes: readonly string[];
  /** HF names stored transposed in memory (nn.Linear weights: file `[out, in]`, memory `[in, out]`). */
  readonly transposed: ReadonlySet<string>;
  /** Layout of a base parameter (`linear` = transposed in memory), or undefined for an unknown name. */
  parameterLayout(name: string): ParamLayout | undefined;
  /**
   * Every base parameter in file layout under its HF name (without base-model prefix unless `prefix` is given,
   * e.g. `'bert.'`). New tensors: the caller disposes them.
   */
  exportWeights(prefix?: string): Map<string, tf.Tensor>;
}

/** {@link HostInfo} plus what the package knows about the host. */
export interface ModelHostInfo extends HostInfo {
  /** Whether the host computes `poolerOutput` (BERT family with pooler weights). */
  readonly hasPooler: boolean;
  /** Whether the host computes LM logits (`lmLogits` option; tied or untied LM head). */
  readonly hasLmHead: boolean;
  readonly maxPositionEmbeddings: number;
}

/** Shared machinery of the hosts. @internal */
export abstract class BaseHost implements ModelHost {
  abstract readonly info: ModelHostInfo;
  abstract readonly wordEmbeddings: tf.Variable;
  readonly notes: readonly string[];
  readonly transposed: ReadonlySet<string>;
  private disposed = false;

  constructor(
    readonly config: ModelConfig,
    protected readonly store: ParameterStore,
    notes: readonly string[],
  ) {
    this.notes = [...notes];
    this.transposed = store.transposedNames();
  }

  get parameters(): ReadonlyMap<string, tf.Variable> {
    return this.store.variables;
  }

  parameterLayout(name: string): ParamLayout | undefined {
    return this.store.layouts.get(name);
  }

  exportWeights(prefix = ''): Map<string, tf.Tensor> {
    this.assertLive();
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.store.variables) {
      out.set(prefix + name, this.transposed.has(name) ? tf.transpose(v) : tf.clone(v));
    }
    return out;
  }

  forward(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs {
    this.assertLive();
    const { inputIds } = inputs;
    if (inputIds.rank !== 2) throw new AdapterKitError('BAD_INPUT', `inputIds must be [batch, seq], got shape [${inputIds.shape.join(', ')}]`);
    if (options.cache && !this.info.isDecoder) {
      throw new AdapterKitError('BAD_INPUT', `a key/value cache needs a decoder host; ${this.info.modelClass} attends in both directions`);
    }
    const past = options.cache?.length ?? 0;
    for (const [key, t] of [
      ['attentionMask', inputs.attentionMask],
      ['tokenTypeIds', inputs.tokenTypeIds],
      ['positionIds', inputs.positionIds],
    ] as const) {
      // With a cache the attention mask also covers the cached positions.
      const len = key === 'attentionMask' ? past + inputIds.shape[1] : inputIds.shape[1];
      if (t && (t.rank !== 2 || t.shape[0] !== inputIds.shape[0] || t.shape[1] !== len)) {
        throw new AdapterKitError(
          'BAD_INPUT',
          `${key} shape [${t.shape.join(', ')}] does not match inputIds [${inputIds.shape.join(', ')}]${past ? ` after ${past} cached positions` : ''}`,
        );
      }
    }
    return tf.tidy(() => this.run(inputs, hooks, options) as unknown as tf.TensorContainer) as unknown as ModelOutputs;
  }

  protected abstract run(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs;

  private tied: { source: object; weight: tf.Tensor2D } | undefined;

  /** The LM head's output embedding `[vocab, hidden]`: the untied `lmHeadWeight`, else the input embeddings. */
  protected get outputEmbeddings(): tf.Variable {
    return this.lmHeadWeight ?? this.wordEmbeddings;
  }

  /** An untied LM head's output embedding `[vocab, hidden]` (hosts that have one override this). */
  get lmHeadWeight(): tf.Variable | undefined {
    return undefined;
  }

  /**
   * The LM-head weight `Eᵀ` `[hidden, vocab]` (E = {@link outputEmbeddings}). Outside gradient recording, or while the embeddings are frozen,
   * it is one kept copy, refreshed when the embedding variable is assigned: transposing a 49152 × 576 table every
   * step, and the matMul kernel repacking a fresh weight, cost more than the whole rest of a decoding step on wasm.
   * When a gradient of trainable embeddings is being recorded, it is a fresh transpose so the gradient reaches them.
   * Call {@link prepareTiedHead} at construction (so the copy is part of the host's own tensors).
   */
  protected tiedHeadWeight(): tf.Tensor2D {
    const e = this.outputEmbeddings;
    // tfjs records a tape only inside tf.grad(s)/variableGrads (engine state `gradientDepth` > 0).
    const recording = (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
    if (e.trainable && recording) return tf.transpose(e) as tf.Tensor2D;
    this.prepareTiedHead();
    return this.tied!.weight;
  }

  /**
   * Logits of the LM head, `h · Eᵀ` (`[B, S, H]` → `[B, S, V]`, E = {@link outputEmbeddings}). With frozen embeddings (or no gradient being
   * recorded) the product uses the kept `Eᵀ`, and its gradient with respect to `h` multiplies by the embedding
   * variable itself (`dy · E`), so a training step neither transposes nor repacks the table.
   */
  protected tiedLogits(h: tf.Tensor3D): tf.Tensor3D {
    const e = this.outputEmbeddings;
    const recording = (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
    if (e.trainable && recording) return linear(h, tf.transpose(e) as tf.Tensor2D);
    const [B, S, H] = h.shape;
    const et = this.tiedHeadWeight();
    const head = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([]);
      return { value: tf.matMul(x, et), gradFunc: (dy: tf.Tensor2D) => [tf.matMul(dy, e as unknown as tf.Tensor2D)] };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
    return tf.reshape(head(tf.reshape(h, [B * S, H]) as tf.Tensor2D), [B, S, -1]) as tf.Tensor3D;
  }

  /** Create or refresh the kept `Eᵀ` of {@link tiedHeadWeight}. */
  protected prepareTiedHead(): void {
    const e = this.outputEmbeddings;
    const source = (e as unknown as { dataId: object }).dataId;
    if (this.tied?.source === source) return;
    const weight = tf.keep(tf.tidy(() => tf.transpose(e) as tf.Tensor2D));
    this.tied?.weight.dispose();
    this.tied = { source, weight };
  }

  dispose(): void {
    if (this.disposed) return;
    this.store.dispose();
    this.tied?.weight.dispose();
    this.tied = undefined;
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new AdapterKitError('DISPOSED', `This ${this.info.modelClass} host has been disposed`);
  }
}

/** Build the static {@link ModelHostInfo}. @internal */
export function makeInfo(
  config: ModelConfig,
  store: ParameterStore,
  fields: {
    modelClass: string;
    baseModelPrefix: string;
    hookPoints: readonly HookPoint[];
    /** Module path of a site in a layer (relative to the base model). */
    modulePath: (site: ModuleSite, layer: number) => string | undefined;
    /** `[in, out]` of a site's dense layer; default: the BERT shapes from the config. */
    moduleShape?: (site: ModuleSite, layer: number) => { inDim: number; outDim: number } | undefined;
    hasPooler: boolean;
    hasLmHead: boolean;
    isDecoder: boolean;
    weightLayout?: 'linear' | 'conv1d';
    selfPrefixKey?: string;
    stateDictPrefix?: string;
    /** The reference's `support_prompt_tuning` (see HostInfo.supportsPromptTuning). Default false. */
    supportsPromptTuning?: boolean;
    hookPlacement?: HookPlacement;
  },
): ModelHostInfo {
  let numParameters = 0;
  for (const v of store.variables.values()) numParameters += v.size;
  const { modulePath } = fields;
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const kv = config.numKeyValueHeads * config.headDim;
  const defaultShape = (site: ModuleSite): { inDim: number; outDim: number } | undefined => {
    switch (site) {
      case 'attention.query':
        return { inDim: H, outDim: config.numHeads * config.headDim };
      case 'attention.key':
      case 'attention.value':
        return { inDim: H, outDim: kv };
      case 'attention.qkv':
        return { inDim: H, outDim: 3 * H };
      case 'attention.outputProjection':
        return { inDim: config.numHeads * config.headDim, outDim: H };
      case 'ffn.intermediate':
        return { inDim: H, outDim: I };
      case 'ffn.outputProjection':
        return { inDim: I, outDim: H };
      case 'ffn.gateProjection':
        return { inDim: H, outDim: I };
      case 'pooler':
        return { inDim: H, outDim: H };
      default:
        return undefined;
    }
  };
  const shapeOf = fields.moduleShape ?? defaultShape;
  const inRange = (layer: number): boolean => Number.isInteger(layer) && layer >= 0 && layer < config.numLayers;
  return Object.freeze({
    modelType: config.modelType,
    modelClass: fields.modelClass,
    hiddenSize: H,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKeyValueHeads: config.numKeyValueHeads,
    headDim: config.headDim,
    intermediateSize: I,
    vocabSize: config.vocabSize,
    baseModelPrefix: fields.baseModelPrefix,
    hookPoints: new Set(fields.hookPoints),
    modulePath: (site: ModuleSite, layer: number): string | undefined => (inRange(layer) ? modulePath(site, layer) : undefined),
    moduleShape: (site: ModuleSite, layer: number) =>
      inRange(layer) && modulePath(site, layer) !== undefined ? shapeOf(site, layer) : undefined,
    numParameters,
    isDecoder: fields.isDecoder,
    weightLayout: fields.weightLayout ?? 'linear',
    selfPrefixKey: fields.selfPrefixKey ?? 'self_prefix',
    ...(fields.stateDictPrefix ? { stateDictPrefix: fields.stateDictPrefix } : {}),
    ...(fields.hookPlacement ? { hookPlacement: fields.hookPlacement } : {}),
    hasPooler: fields.hasPooler,
    hasLmHead: fields.hasLmHead,
    supportsPromptTuning: fields.supportsPromptTuning ?? false,
    maxPositionEmbeddings: config.maxPositionEmbeddings,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// numeric helpers

/**
 * Batched product `a·b` of 4-D tensors (`[B, N, m, k]·[B, N, k, n] → [B, N, m, n]`) whose gradient passes
 * `transposeA/B` flags (free in BLAS; the library's wasm kernel transposes explicitly once).
 * @internal
 */
export const batchMatMul = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [tf.matMul(dy, sb, false, true), tf.matMul(sa, dy, true, false)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;

/** `[B, S, H]` → `[B, heads, S, H/heads]`. @internal */
export function splitHeads(x: tf.Tensor3D, numHeads: number): tf.Tensor4D {
  const [b, s, h] = x.shape;
  return tf.transpose(tf.reshape(x, [b, s, numHeads, h / numHeads]), [0, 2, 1, 3]);
}

/** `[B, heads, S, headDim]` → `[B, S, heads·headDim]`. @internal */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, n, s, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, s, n * d]);
}

/**
 * Core's `dropout` when training with a positive rate, otherwise `x`. `rng` is the forward's random source
 * (`HostForwardOptions.rng`); a training forward without one is an error. @internal
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean, rng: Rng | undefined): T {
  if (!training || rate <= 0) return x;
  if (!rng) throw new AdapterStateError('NO_RANDOM_SOURCE', 'a training forward needs a random source for dropout (HostForwardOptions.rng; AdapterModel.forward passes one)');
  return dropoutOp(x, rate, rng);
}

/**
 * Bring an additive `[B, 1, 1, S]` padding mask in line with hidden states that a hook changed:
 * - the sequence grew by `extra` positions at the front (prompt tokens): prepend `extra` attended positions;
 * - the batch was replicated (Parallel composition): tile the mask.
 * @internal
 */
export function alignMask(mask: tf.Tensor4D, batch: number, extraFront: number): tf.Tensor4D {
  let m = mask;
  if (extraFront > 0) m = tf.concat([tf.zeros([m.shape[0], 1, 1, extraFront]), m], 3);
  if (m.shape[0] !== batch) {
    if (batch % m.shape[0] !== 0) {
      throw new AdapterKitError('BAD_HOOK_RESULT', `hidden-state batch ${batch} is not a multiple of the attention-mask batch ${m.shape[0]}`);
    }
    m = tf.tile(m, [batch / m.shape[0], 1, 1, 1]);
  }
  return m;
}

/** Cast to int32 if needed (inputs should already be int32). @internal */
export function asInt(t: tf.Tensor2D): tf.Tensor2D {
  return t.dtype === 'int32' ? t : tf.cast(t, 'int32');
}

/** Throw when a position id would fall outside the position table. @internal */
export function checkLength(len: number, max: number, model: string, offset = 0): void {
  if (len + offset > max) {
    throw new AdapterKitError(
      'SEQUENCE_TOO_LONG',
      `Sequence length ${len} exceeds the ${model} position table (max_position_embeddings ${max}${offset ? `, positions start at ${offset}` : ''})`,
    );
  }
}
