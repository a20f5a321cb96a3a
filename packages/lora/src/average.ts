import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, averageAdapterParams, CapabilityError, weightedSum, type AdapterModel, type CombineParams } from '@adapterkit/core';
import type { LoRAConfig } from './config';
import { truncatedSvdFactors } from './svd';

/**
 * How {@link averageLoRAAdapter} combines parameters (`adapters`' `combine_strategy`):
 * - `linear`: every parameter Φ = Σ λ_i Φ_i — A and B are averaged separately, so the update B·A of the result is
 *   not the average of the updates (that is what `adapters` does too);
 * - `lora_linear_only_negate_b`: A = Σ |λ_i| A_i, B = Σ λ_i B_i (negative weights negate only B, so "unlearning" an
 *   adapter flips its update's sign); LoRA (add mode) only.
 * - `lora_delta_w_svd`: ΔW = Σ λ_i B_i·A_i per module, split by a truncated SVD `ΔW ≈ U_k S_k V_kᵀ` into
 *   `A = V_kᵀ`, `B = U_k S_k` of rank `svdRank` (`k`). The new adapter gets `r = svdRank` and `alpha` scaled with it
 *   so that α/r (and so the update's scale) stays that of the sources. Plain (non-fused) LoRA sites only: the
 *   reference refuses it on GPT-2 too (`support_lora_delta_w_svd = False`).
 */
export type LoRACombineStrategy = 'linear' | 'lora_linear_only_negate_b' | 'lora_delta_w_svd';

/** Options of {@link averageLoRAAdapter}. */
export interface AverageLoRAOptions {
  /** Default `linear`. */
  readonly combineStrategy?: LoRACombineStrategy;
  /** Rank of the result of `lora_delta_w_svd` (required there). */
  readonly svdRank?: number;
  /** Scale the weights to sum 1 (default true, as the reference). */
  readonly normalizeWeights?: boolean;
  /** Replace an existing adapter named `name`. */
  readonly overwriteOk?: boolean;
  /** Activate the new adapter. */
  readonly setActive?: boolean;
}

/** `lora_linear_only_negate_b`: A = Σ |λ_i| A_i, everything else (B, gates) Σ λ_i Φ_i. */
const negateOnlyB: CombineParams = (key: string, tensors: readonly tf.Tensor[], weights: readonly number[]) =>
  weightedSum(tensors, key.endsWith('.lora_A') ? weights.map(Math.abs) : weights);

/**
 * Parameter averaging of LoRA / (IA)³ adapters (`adapters`' `average_adapter`): adds adapter `name` with the common
 * config of `adapters` (they must agree, dropout aside) and parameters combined by `combineStrategy` with weights λ
 * (default equal; scaled to sum 1 with `normalizeWeights`, default true). Gate parameters are averaged linearly.
 * See core's `averageAdapterParams`.
 */
export function averageLoRAAdapter(model: AdapterModel, name: string, adapters: readonly string[], weights?: readonly number[], options: AverageLoRAOptions = {}): void {
  const { combineStrategy = 'linear', svdRank, ...rest } = options;
  const first = adapters[0] === undefined ? undefined : model.requireAdapter(adapters[0]);
  const config = first?.members[0]?.config as unknown as LoRAConfig | undefined;
  if (combineStrategy === 'lora_linear_only_negate_b' && config?.method === 'lora' && config.compositionMode !== 'add') {
    throw new AdapterConfigError('BAD_AVERAGE', `combineStrategy 'lora_linear_only_negate_b' needs LoRA adapters (composition_mode 'add'); '${adapters[0]}' is (IA)³`);
  }
  if (combineStrategy === 'lora_delta_w_svd') {
    averageDeltaWSvd(model, name, adapters, weights, config, svdRank, rest);
    return;
  }
  averageAdapterParams(model, name, adapters, weights, {
    ...rest,
    methods: ['lora'],
    caller: 'averageLoRAAdapter',
    ...(combineStrategy === 'lora_linear_only_negate_b' ? { combine: negateOnlyB } : {}),
  });
}

function averageDeltaWSvd(
  model: AdapterModel,
  name: string,
  adapters: readonly string[],
  weights: readonly number[] | undefined,
  config: LoRAConfig | undefined,
  svdRank: number | undefined,
  rest: Omit<AverageLoRAOptions, 'combineStrategy' | 'svdRank'>,
): void {
  if (!config || config.method !== 'lora' || config.compositionMode !== 'add' || config.useGating || config.useDora) {
    throw new AdapterConfigError('BAD_AVERAGE', "combineStrategy 'lora_delta_w_svd' needs plain LoRA adapters (add mode, no gating, no DoRA)");
  }
  if (svdRank === undefined || !Number.isInteger(svdRank) || svdRank < 1) {
    throw new AdapterConfigError('BAD_AVERAGE', `combineStrategy 'lora_delta_w_svd' needs svdRank, a positive integer (got ${String(svdRank)})`);
  }
  if (model.info.modulePath('attention.qkv', 0) !== undefined && config.selfattnLora && config.attnMatrices.length > 0) {
    throw new CapabilityError('UNSUPPORTED_AVERAGE', `combineStrategy 'lora_delta_w_svd' is not supported on the fused q/k/v projection of ${model.info.modelType} (as in the reference)`);
  }
  // Per module (key without the adapter segment and the A/B suffix): the source A [in, r] and B [r, out] (memory).
  const sourceFactors = (key: string, suffix: string): Array<{ A: tf.Variable; B: tf.Variable }> =>
    adapters.map((a) => {
      const params = model.adapterParams(a);
      const find = (s: string): tf.Variable => {
        const want = key.slice(0, -suffix.length).split('.').map((seg) => (seg === name ? a : seg)).join('.') + s;
        const p = params.find((q) => q.key === want);
        if (!p) throw new AdapterConfigError('BAD_AVERAGE', `Adapter '${a}' has no parameter '${want}'`);
        return p.variable;
      };
      return { A: find('.lora_A'), B: find('.lora_B') };
    });
  const cache = new Map<string, { A: Float32Array; B: Float32Array; inDim: number; out: number }>();
  const factors = (key: string, suffix: string, lambda: readonly number[]): { A: Float32Array; B: Float32Array; inDim: number; out: number } => {
    const module = key.slice(0, -suffix.length);
    const hit = cache.get(module);
    if (hit) return hit;
    const src = sourceFactors(key, suffix);
    // ΔW in file layout [out, in]: Σ λ_i (A_i·B_i)ᵀ with memory A [in, r], B [r, out].
    const sum = tf.tidy(() => tf.transpose(tf.addN(src.map((f, i) => tf.mul(tf.matMul(f.A, f.B), lambda[i]!)))));
    const [out, inDim] = sum.shape as [number, number];
    const dw = Float64Array.from(sum.dataSync());
    sum.dispose();
    if (svdRank > Math.min(out, inDim)) throw new AdapterConfigError('BAD_AVERAGE', `svdRank ${svdRank} exceeds min(out, in) = ${Math.min(out, inDim)} of '${module}'`);
    const f = { ...truncatedSvdFactors(dw, out, inDim, svdRank), inDim, out };
    cache.set(module, f);
    return f;
  };
  const combine: CombineParams = (key, _tensors, lambda) => {
    if (key.endsWith('.lora_A')) {
      const f = factors(key, '.lora_A', lambda);
      return tf.transpose(tf.tensor2d(f.A, [svdRank, f.inDim])); // memory [in, k]
    }
    if (key.endsWith('.lora_B')) {
      const f = factors(key, '.lora_B', lambda);
      return tf.transpose(tf.tensor2d(f.B, [f.out, svdRank])); // memory [k, out]
    }
    throw new AdapterConfigError('BAD_AVERAGE', `lora_delta_w_svd: unexpected parameter '${key}'`);
  };
  averageAdapterParams(model, name, adapters, weights, {
    ...rest,
    methods: ['lora'],
    caller: 'averageLoRAAdapter',
    combine,
    configOverrides: { r: svdRank, alpha: config.useRslora ? config.alpha * Math.sqrt(svdRank / config.r) : (config.alpha * svdRank) / config.r },
  });
}
