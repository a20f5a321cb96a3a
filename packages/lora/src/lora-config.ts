import { buildConfig } from '@adapterkit/core';
import type { LoRAConfig as LoRAConfigFields, LoRAConfigOverrides } from './config';
import { lora } from './method';

export type { LoRAConfigOverrides } from './config';

/**
 * Config of a LoRA / (IA)³ adapter (see `config.ts` for the fields, which live there so that the method's modules
 * can name the type without importing the constructors: no import cycle).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface LoRAConfig extends LoRAConfigFields {}

/**
 * A full, validated LoRA config: defaults (`r` 8, `alpha` 8, q and v, add mode) plus `overrides`.
 * `LoRAConfig({ r: 4, alpha: 8 })` mirrors the reference's `LoRAConfig(r=4, alpha=8)`.
 */
export function LoRAConfig(overrides: LoRAConfigOverrides = {}): LoRAConfig {
  return buildConfig(lora, undefined, overrides, 'LoRAConfig(...)') as unknown as LoRAConfig;
}

/** A full, validated (IA)³ config: the reference's `IA3Config()` (k, v, FFN intermediate; scale mode) plus `overrides`. */
export function IA3Config(overrides: LoRAConfigOverrides = {}): LoRAConfig {
  return buildConfig(lora, 'ia3', overrides, 'IA3Config(...)') as unknown as LoRAConfig;
}
