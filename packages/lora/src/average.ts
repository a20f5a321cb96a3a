import type * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, averageAdapterParams, weightedSum, type AdapterModel, type CombineParams } from '@adapterkit/core';
import type { LoRAConfig } from './lora-config';

/**
 * How {@link averageLoRAAdapter} combines parameters (`adapters`' `combine_strategy`):
 * - `linear`: every parameter Φ = Σ λ_i Φ_i — A and B are averaged separately, so the update B·A of the result is
 *   not the average of the updates (that is what `adapters` does too);
 * - `lora_linear_only_negate_b`: A = Σ |λ_i| A_i, B = Σ λ_i B_i (negative weights negate only B, so "unlearning" an
 *   adapter flips its update's sign); LoRA (add mode) only.
 * `adapters`' `lora_delta_w_svd` (SVD of Σ λ_i B_i A_i) is not implemented: tfjs-core has no SVD.
 */
export type LoRACombineStrategy = 'linear' | 'lora_linear_only_negate_b';

/** Options of {@link averageLoRAAdapter}. */
export interface AverageLoRAOptions {
  /** Default `linear`. */
  readonly combineStrategy?: LoRACombineStrategy;
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
  const { combineStrategy = 'linear', ...rest } = options;
  const first = adapters[0] === undefined ? undefined : model.requireAdapter(adapters[0]);
  const config = first?.members[0]?.config as unknown as LoRAConfig | undefined;
  if (combineStrategy === 'lora_linear_only_negate_b' && config?.method === 'lora' && config.compositionMode !== 'add') {
    throw new AdapterConfigError('BAD_AVERAGE', `combineStrategy 'lora_linear_only_negate_b' needs LoRA adapters (composition_mode 'add'); '${adapters[0]}' is (IA)³`);
  }
  averageAdapterParams(model, name, adapters, weights, {
    ...rest,
    methods: ['lora'],
    caller: 'averageLoRAAdapter',
    ...(combineStrategy === 'lora_linear_only_negate_b' ? { combine: negateOnlyB } : {}),
  });
}
