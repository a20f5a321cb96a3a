import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config';
import {
  AdapterKitError,
  dropoutOp,
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
  /** Whether the host has a tied LM head (`lmLogits` option). */
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
    for (const [key, t] of [
      ['attentionMask', inputs.attentionMask],
      ['tokenTypeIds', inputs.tokenTypeIds],
      ['positionIds', inputs.positionIds],
    ] as const) {
      if (t && (t.rank !== 2 || t.shape[0] !== inputIds.shape[0] || t.shape[1] !== inputIds.shape[1])) {
        throw new AdapterKitError('BAD_INPUT', `${key} shape [${t.shape.join(', ')}] does not match inputIds [${inputIds.shape.join(', ')}]`);
      }
    }
    return tf.tidy(() => this.run(inputs, hooks, options) as unknown as tf.TensorContainer) as unknown as ModelOutputs;
  }

  protected abstract run(inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs;

  dispose(): void {
    if (this.disposed) return;
    this.store.dispose();
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
    modulePath: (site: ModuleSite, layer: number) => string | undefined;
    hasPooler: boolean;
    hasLmHead: boolean;
    hookPlacement?: HookPlacement;
  },
): ModelHostInfo {
  let numParameters = 0;
  for (const v of store.variables.values()) numParameters += v.size;
  const { modulePath } = fields;
  return Object.freeze({
    modelType: config.modelType,
    modelClass: fields.modelClass,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    headDim: config.hiddenSize / config.numHeads,
    intermediateSize: config.intermediateSize,
    vocabSize: config.vocabSize,
    baseModelPrefix: fields.baseModelPrefix,
    hookPoints: new Set(fields.hookPoints),
    modulePath: (site: ModuleSite, layer: number): string | undefined =>
      Number.isInteger(layer) && layer >= 0 && layer < config.numLayers ? modulePath(site, layer) : undefined,
    numParameters,
    ...(fields.hookPlacement ? { hookPlacement: fields.hookPlacement } : {}),
    hasPooler: fields.hasPooler,
    hasLmHead: fields.hasLmHead,
    maxPositionEmbeddings: config.maxPositionEmbeddings,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// numeric helpers

const swapLast = [0, 1, 3, 2];

/**
 * Batched product `a·b` of 4-D tensors (`[B, N, m, k]·[B, N, k, n] → [B, N, m, n]`) whose gradient uses explicit
 * transposes instead of tfjs's `transposeA/B` flags (slow on the wasm backend).
 * @internal
 */
export const batchMatMul = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [tf.matMul(dy, tf.transpose(sb, swapLast)), tf.matMul(tf.transpose(sa, swapLast), dy)];
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

/** Core's `dropout` when training with a positive rate, otherwise `x`. @internal */
export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
  return training && rate > 0 ? dropoutOp(x, rate) : x;
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
