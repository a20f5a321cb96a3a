import { defineAdapterMethod, type AdapterMethod } from '@adapterkit/core';
import packageJson from '../package.json';
import { LORA_BLOCKS } from './blocks';
import { IA3_PRESET, LORA_DEFAULTS, LORA_FIELDS, loraAdapterHubGaps, validateLoRAConfig } from './config';
import type { LoRAConfig } from './config';
import { LoRAInstance } from './instance';
import { checkLoRAHost } from './sites';

/** Package metadata (checked by the model against the plugin API version). */
export const LORA_PACKAGE = { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion } as const;

/**
 * The LoRA / (IA)³ method (adapter-transformers 3.2.1 `LoRAConfig`, `"architecture": "lora"`). Presets: `lora`
 * (the defaults) and `ia3` (`IA3Config()`). Acts at `attention.projection` (q/k/v or fused qkv),
 * `ffn.intermediate` and `ffn.outputProjection`; PEFT-only `extra_modules` add `attention.outputProjection`,
 * `ffn.gateProjection` and `pooler.projection`:
 * - add: `y = W₀x + b + (α/r)·B·A·drop(x)`; with `use_gating` the factor α/r is replaced by `mean_seq σ(W_g x + b_g)`;
 * - scale ((IA)³): `y = (W₀x + b) ⊙ (α/r)·ℓ` (the bias is scaled too).
 *
 * Several LoRA adapters active in one Stack add their updates (scale mode: multiply), each computed from the
 * projection's input; the reference raises instead. BatchSplit and Parallel route batch rows to their children
 * (as `adapters`); Fuse, Split and Average are not supported.
 */
export const lora: AdapterMethod<LoRAConfig> = defineAdapterMethod<LoRAConfig>({
  name: 'lora',
  architecture: 'lora',
  fields: LORA_FIELDS,
  defaults: LORA_DEFAULTS,
  presets: { lora: {}, ia3: IA3_PRESET },
  validate: (config, host) => {
    validateLoRAConfig(config);
    if (host) checkLoRAHost(config, host);
  },
  adapterHubGaps: loraAdapterHubGaps,
  // The hook points of `extra_modules` (`attention.outputProjection`, `ffn.gateProjection`, `pooler.projection`) are
  // checked per config (checkLoRAHost): a host without them still runs every other LoRA.
  hooks: ['attention.projection', 'ffn.intermediate', 'ffn.outputProjection'],
  blocks: LORA_BLOCKS,
  create: (ctx) => new LoRAInstance(ctx),
  meta: LORA_PACKAGE,
  description: 'LoRA and (IA)³ on attention and FFN projections',
});
