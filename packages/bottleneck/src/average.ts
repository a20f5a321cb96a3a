import { averageAdapterParams, type AdapterModel } from '@adapterkit/core';

/** Options of {@link averageAdapter}. */
export interface AverageAdapterOptions {
  /** Scale the weights to sum 1 (default true, as the reference). */
  readonly normalizeWeights?: boolean;
  /** Replace an existing adapter named `name`. */
  readonly overwriteOk?: boolean;
  /** Activate the new adapter. */
  readonly setActive?: boolean;
}

/**
 * Parameter averaging of bottleneck adapters (`adapters`' `average_adapter` with `combine_strategy="linear"`):
 * adds adapter `name` with the common config of `adapters` and every parameter Φ = Σ λ_i Φ_i — adapter modules,
 * invertible adapters and PHM parameters alike. `weights` default to equal; with `normalizeWeights` (default) they
 * are scaled to sum 1 (negative weights "unlearn"). All adapters must have the same config (dropout aside).
 * See core's `averageAdapterParams`.
 */
export function averageAdapter(model: AdapterModel, name: string, adapters: readonly string[], weights?: readonly number[], options: AverageAdapterOptions = {}): void {
  averageAdapterParams(model, name, adapters, weights, { ...options, methods: ['bottleneck'], caller: 'averageAdapter' });
}
