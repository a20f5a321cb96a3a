import { buildConfig, type AdapterConfigBase } from '@adapterkit/core';
import type { AttnMatrix, CompositionMode, LoRAInitWeights } from './config';
import type { LoRAExtraModule } from './sites';
import { lora } from './method';

/**
 * Config of a LoRA / (IA)³ adapter (adapter-transformers 3.2.1 `LoRAConfig`, serialised with
 * `"architecture": "lora"`). Field names are camelCase here and snake_case in files and config strings.
 */
export interface LoRAConfig extends AdapterConfigBase {
  readonly method: 'lora';
  /** Wrap the self-attention projections named in {@link attnMatrices}. Default true. */
  readonly selfattnLora: boolean;
  /** Wrap the FFN intermediate dense (BERT `intermediate.dense`, GPT-2 `mlp.c_fc`). Default false. */
  readonly intermediateLora: boolean;
  /** Wrap the FFN output dense (BERT `output.dense`, GPT-2 `mlp.c_proj`). Default false. */
  readonly outputLora: boolean;
  /** Rank. Default 8; must be 1 in `scale` mode. */
  readonly r: number;
  /** Scaling numerator: the update is multiplied by `alpha / r`. Default 8. */
  readonly alpha: number;
  /** Dropout on the LoRA input (training only). Default 0.0. */
  readonly dropout: number;
  /** Which attention projections get LoRA. Default `['q', 'v']`. */
  readonly attnMatrices: readonly AttnMatrix[];
  /** Default `add`. */
  readonly compositionMode: CompositionMode;
  /** Default `lora`. */
  readonly initWeights: LoRAInitWeights;
  /** UniPELT gate: `mean_seq σ(W_g x + b_g)` replaces `alpha / r`. Gated adapters cannot be merged. Default false. */
  readonly useGating: boolean;
  /** rsLoRA (Kalajdzievski 2023, PEFT `use_rslora`): scaling `alpha / √r` instead of `alpha / r`. Default false. */
  readonly useRslora: boolean;
  /**
   * DoRA (Liu et al. 2024, PEFT `use_dora`): `W' = m ⊙ V / ‖V‖` with `V = W + s·B·A`, one norm per output row of W
   * `[out, in]` and a trained magnitude `m` `[out]` (`lora_magnitude_vector`, initialised to `‖W‖`). Add mode only.
   * Default false.
   */
  readonly useDora: boolean;
  /**
   * Dense layers that only PEFT wraps (`target_modules="all-linear"`), none of which AdapterHub's LoRA has:
   * `attention_output` (BERT `attention.output.dense`, Llama `o_proj`), `gate` (Llama `mlp.gate_proj`), `pooler`
   * (BERT `pooler.dense`). Saved only when non-empty (`extra_modules`); such adapters export to PEFT files. Default `[]`.
   */
  readonly extraModules: readonly LoRAExtraModule[];
}

/** Overrides accepted by the config constructors (camelCase or snake_case keys). */
export type LoRAConfigOverrides = Partial<Omit<LoRAConfig, 'method'>> & Record<string, unknown>;

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
