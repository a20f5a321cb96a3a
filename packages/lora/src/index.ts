/**
 * `@adapterkit/lora`: LoRA and (IA)³ adapters (adapter-transformers 3.2.1 `LoRAConfig` / `IA3Config`, architecture
 * `lora`) on the attention q/k/v projections (GPT-2: the fused `c_attn`), the FFN intermediate and the FFN output
 * dense layers; merging into the base weights; HF PEFT import/export.
 *
 * ```ts
 * const model = new AdapterModel(await loadHost('models/bert'), { methods: [lora] });
 * model.addAdapter('a', 'lora[r=8,alpha=16]', { setActive: true });
 * mergeAdapter(model, 'a');            // fold into the base weights
 * resetAdapter(model);                 // restore them bit-exactly
 * await exportPeftAdapter(model, 'a', 'out/peft');
 * ```
 *
 * @packageDocumentation
 */
import { lora } from './method';
import { peftIa3 } from './peft-ia3';
import { vera } from './vera';

export { lora, LORA_PACKAGE } from './method';
export { LoRAConfig, IA3Config, type LoRAConfigOverrides } from './lora-config';
export { LORA_DEFAULTS, LORA_FIELDS, IA3_PRESET, loraAdapterHubGaps, validateLoRAConfig, type AttnMatrix, type CompositionMode, type LoRAInitWeights } from './config';
export { checkLoRAHost, LORA_EXTRA_MODULES, type LoRAExtraModule } from './sites';
export { mergeAdapter, resetAdapter, isAdapterMerged } from './merge';
export { averageLoRAAdapter, type AverageLoRAOptions, type LoRACombineStrategy } from './average';
export { peftIa3, PEFT_IA3, PEFT_IA3_SITES, PEFT_IA3_DEFAULTS, PEFT_IA3_FIELDS, validatePeftIa3Config, type PeftIa3Config, type PeftIa3Site } from './peft-ia3';
export { vera, VERA, VERA_DEFAULTS, VERA_FIELDS, validateVeraConfig, veraProjectionDims, type VeraConfig } from './vera';
export { mergeAdapters, type MergeAdaptersOptions, type LoRAMergeType } from './merge-adapters';
export {
  taskArithmetic,
  magnitudePrune,
  randomPrune,
  majoritySignMask,
  disjointMerge,
  ties,
  dareLinear,
  dareTies,
  magnitudePruneMerge,
  type MajoritySignMethod,
} from './merge-utils';
export { LORA_BLOCKS } from './blocks';
export { exportPeftAdapter, serializePeftAdapter, type ExportPeftOptions } from './peft/export';
export { importPeftAdapter, type ImportPeftOptions } from './peft/import';
export { parityCaseLoaders } from './parity';

/** What this package installs into a model: `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [lora, peftIa3, vera] as const;
