import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterStateError,
  CapabilityError,
  serializeSafetensors,
  toPythonJson,
  writeFiles,
  type SinkInput,
  type AdapterModel,
  type SerializableTensor,
} from '@adapterkit/core';
import { loraInstanceOf } from '../merge';
import type { PeftIa3Config } from '../peft-ia3';
import type { VeraConfig } from '../vera';
import { serializePeftIa3, serializePeftVera } from './export-other';
import type { LoRAModule } from '../module';
import { enabledSlots } from '../sites';
import { PEFT_CONFIG_FILE, PEFT_KEY_PREFIX, PEFT_SUFFIX, PEFT_WEIGHTS_FILE, peftIa3ConfigJson, peftLoraConfigJson, peftTargets } from './format';

/** Options of {@link exportPeftAdapter}. */
export interface ExportPeftOptions {
  /**
   * Inserted after `base_model.model.` in every key, for PEFT models wrapping a class with a base-model attribute:
   * `'transformer.'` (GPT2LMHeadModel), `'bert.'` (BertForSequenceClassification). Default: the host's
   * `stateDictPrefix` (`'model.'` on Llama/Qwen2, whose reference class is the `*ForCausalLM`), else `''` (BertModel, GPT2Model).
   */
  readonly keyPrefix?: string;
  /** Written as `base_model_name_or_path` (the HF id of the base model). Default null. */
  readonly baseModelNameOrPath?: string | null;
}

async function entry(t: tf.Tensor): Promise<SerializableTensor> {
  try {
    return { shape: [...t.shape], data: (await t.data()) as Float32Array };
  } finally {
    t.dispose();
  }
}

/**
 * The files of {@link exportPeftAdapter} (`adapter_config.json` text and `adapter_model.safetensors` bytes).
 */
export async function serializePeftAdapter(model: AdapterModel, name: string, options: ExportPeftOptions = {}): Promise<Record<string, string | Uint8Array>> {
  const only = model.requireAdapter(name).members;
  if (only.length === 1 && only[0]!.method.name === 'vera') return serializePeftVera(model, name, only[0]!.config as unknown as VeraConfig, options);
  if (only.length === 1 && only[0]!.method.name === 'peft_ia3') return serializePeftIa3(model, name, only[0]!.config as unknown as PeftIa3Config, options);
  const instance = loraInstanceOf(model, name);
  if (!instance) throw new AdapterStateError('NOT_LORA', `Adapter '${name}' has no LoRA / (IA)³ part to export`);
  if (model.requireAdapter(name).members.length > 1) {
    model.warn(`exportPeftAdapter: adapter '${name}' is a config union; only its LoRA part is exported`);
  }
  const { config, modules } = instance;
  if (config.useGating) {
    throw new CapabilityError('PEFT_UNSUPPORTED', `Adapter '${name}' uses gating (use_gating=True), which PEFT cannot express`);
  }
  if (modules.length === 0) throw new AdapterStateError('NOT_LORA', `Adapter '${name}' wraps no module; nothing to export`);

  const groups = new Map<string, string[]>();
  for (const m of modules) groups.set(m.site.moduleSite, [...(groups.get(m.site.moduleSite) ?? []), m.site.modulePath]);
  const allModules = new Set([...model.host.parameters.keys()].map((k) => k.slice(0, k.lastIndexOf('.'))));
  const targets = peftTargets(groups, allModules);
  // Hosts whose projections are HF `Conv1D` (weights `[in, out]`, GPT-2): PEFT sets `fan_in_fan_out`.
  const fanInFanOut = model.info.weightLayout === 'conv1d';
  const baseModelNameOrPath = options.baseModelNameOrPath ?? null;
  const key = (m: LoRAModule, suffix: string): string => `${PEFT_KEY_PREFIX}${options.keyPrefix ?? model.info.stateDictPrefix ?? ''}${m.site.modulePath}${suffix}`;

  const tensors: Record<string, SerializableTensor> = {};
  let json: Record<string, unknown>;
  if (config.compositionMode === 'scale') {
    // (IA)³: PEFT's non-feed-forward ia3_l scales the module output (bias included), as the reference does.
    for (const m of modules) {
      tensors[key(m, PEFT_SUFFIX.ia3)] = await entry(tf.tidy(() => tf.reshape(tf.mul(m.denseScale(), m.scaling), [-1, 1])));
    }
    json = peftIa3ConfigJson({ targetModules: targets.targetModules, fanInFanOut, baseModelNameOrPath });
  } else {
    // A fused projection with n LoRA slots is one PEFT LoRA of rank r·n on the whole output: A stacked as stored,
    // B block-diagonal over the slots (zero rows for slots without LoRA), alpha·n keeps the scaling alpha/r.
    const rankPattern: Record<string, number> = {};
    const alphaPattern: Record<string, number> = {};
    for (const m of modules) {
      const n = enabledSlots(m.site);
      if (n !== 1) {
        const k = targets.patternKeys.get(m.site.moduleSite)!;
        rankPattern[k] = config.r * n;
        alphaPattern[k] = config.useRslora ? config.alpha * Math.sqrt(n) : config.alpha * n; // keeps alpha / r (or alpha / √r)
      }
      tensors[key(m, PEFT_SUFFIX.A)] = await entry(tf.transpose(m.loraA!));
      tensors[key(m, PEFT_SUFFIX.B)] = await entry(tf.tidy(() => tf.transpose(m.denseB())));
      if (m.magnitude) tensors[key(m, PEFT_SUFFIX.magnitude)] = await entry(tf.clone(m.magnitude));
    }
    // When every module is fused, the pattern values become the global ones.
    const onlyFused = modules.every((m) => enabledSlots(m.site) !== 1);
    const [r, loraAlpha] = onlyFused ? [Object.values(rankPattern)[0]!, Object.values(alphaPattern)[0]!] : [config.r, config.alpha];
    json = peftLoraConfigJson({
      r,
      loraAlpha,
      loraDropout: config.dropout,
      targetModules: targets.targetModules,
      fanInFanOut,
      rankPattern: onlyFused ? {} : rankPattern,
      alphaPattern: onlyFused ? {} : alphaPattern,
      baseModelNameOrPath,
      useDora: config.useDora,
      useRslora: config.useRslora,
    });
  }
  return {
    [PEFT_CONFIG_FILE]: toPythonJson(json, { indent: 2, sortKeys: true, floatKeys: (path) => path.length === 1 && path[0] === 'lora_dropout' }),
    [PEFT_WEIGHTS_FILE]: serializeSafetensors(tensors),
  };
}

/**
 * Write a LoRA / (IA)³ adapter as a HF PEFT adapter directory: `adapter_config.json` (`peft_type` `LORA` or
 * `IA3`) and `adapter_model.safetensors` under `base_model.model.<module path>.lora_A.weight` `[r, in]` /
 * `.lora_B.weight` `[out, r]` (LoRA) or `.ia3_l` `[out, 1]` ((IA)³, non-feed-forward: output scaling).
 *
 * GPT-2's fused `c_attn` (n LoRA slots of rank r) is exported exactly as a PEFT LoRA of rank r·n with
 * `lora_alpha` α·n on the 3·hidden output: `lora_A` is the stored `[r·n, in]`, `lora_B` `[3·hidden, r·n]` is
 * block-diagonal (zero rows for q/k/v slots without LoRA). With other modules too, this goes to `rank_pattern` /
 * `alpha_pattern`. (IA)³ on `c_attn` writes `[3·hidden, 1]` with ones on slots without a vector.
 *
 * @throws CapabilityError `PEFT_UNSUPPORTED` for gated adapters.
 */
export async function exportPeftAdapter(model: AdapterModel, name: string, dir: SinkInput, options: ExportPeftOptions = {}): Promise<void> {
  await writeFiles(dir, await serializePeftAdapter(model, name, options));
}
