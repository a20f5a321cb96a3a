/**
 * HF PEFT checkpoint format (peft ≥ 0.6): `adapter_config.json` + `adapter_model.safetensors` with keys
 * `base_model.model.<module path>.lora_A.weight` `[r, in]`, `.lora_B.weight` `[out, r]` (LoRA) or `.ia3_l`
 * (`[out, 1]`; `[1, in]` for feed-forward modules) — the adapter name is not part of saved keys.
 */

/** File names of a PEFT adapter directory. */
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** Prefix of every PEFT weight key (PeftModel → LoraModel → the wrapped transformers model). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** Suffixes of the PEFT weights this package reads and writes. */
export const PEFT_SUFFIX = { A: '.lora_A.weight', B: '.lora_B.weight', ia3: '.ia3_l', magnitude: '.lora_magnitude_vector' } as const;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regex for a module path with every layer index replaced by `\d+` (`encoder\.layer\.\d+\.output\.dense`). */
export function pathPattern(path: string): string {
  return path
    .split('.')
    .map((s) => (/^\d+$/.test(s) ? '\\d+' : escapeRegex(s)))
    .join('\\.');
}

/**
 * The shortest dotted suffix shared by every path of a group that PEFT's `target_modules` suffix matching
 * (`name == t or name.endswith('.' + t)`) would not also apply to a module outside `targeted`; undefined if
 * none (BERT `output.dense` also matches `attention.output.dense`).
 */
function uniqueSuffix(paths: readonly string[], targeted: ReadonlySet<string>, allModules: ReadonlySet<string>): string | undefined {
  const segments = paths.map((p) => p.split('.'));
  const maxLen = Math.min(...segments.map((s) => s.length));
  for (let k = 1; k <= maxLen; k++) {
    const suffixes = new Set(segments.map((s) => s.slice(-k).join('.')));
    if (suffixes.size !== 1) return undefined;
    const [suffix] = suffixes as unknown as [string];
    const clash = [...allModules].some((m) => (m === suffix || m.endsWith(`.${suffix}`)) && !targeted.has(m));
    if (!clash) return suffix;
  }
  return undefined;
}

/** PEFT `target_modules` for groups of wrapped modules, plus the key naming each group in `rank_pattern`. */
export interface PeftTargets {
  /** A list of name suffixes (PEFT's usual form) or, where a suffix would be ambiguous, one full-match regex. */
  readonly targetModules: string[] | string;
  /** Group id → the key that names the group in `rank_pattern` / `alpha_pattern`. */
  readonly patternKeys: ReadonlyMap<string, string>;
}

/**
 * Name the wrapped modules for PEFT. `groups`: group id (e.g. a module site) → the module paths of the group
 * (one per layer); `allModules`: every module path of the host.
 */
export function peftTargets(groups: ReadonlyMap<string, readonly string[]>, allModules: ReadonlySet<string>): PeftTargets {
  const targeted = new Set([...groups.values()].flat());
  const suffixes = new Map<string, string | undefined>([...groups].map(([id, paths]) => [id, uniqueSuffix(paths, targeted, allModules)]));
  if ([...suffixes.values()].every((s) => s !== undefined)) {
    const keys = suffixes as Map<string, string>;
    return { targetModules: [...new Set(keys.values())], patternKeys: keys };
  }
  const patterns = new Map([...groups].map(([id, paths]) => [id, pathPattern(paths[0]!)]));
  return { targetModules: `(.*\\.)?(${[...patterns.values()].join('|')})`, patternKeys: patterns };
}

/** PEFT's `rank_pattern` / `alpha_pattern` lookup: the value of the first key matching the module's name. */
export function patternValue(patterns: unknown, modulePath: string): number | undefined {
  if (typeof patterns !== 'object' || patterns === null) return undefined;
  for (const [key, value] of Object.entries(patterns as Record<string, unknown>)) {
    if (typeof value === 'number' && new RegExp(`^(.*\\.)?(?:${key})$`).test(modulePath)) return value;
  }
  return undefined;
}

/** `adapter_config.json` of a PEFT LoRA adapter (PEFT `LoraConfig.to_dict()`, the fields of §2.5). */
export function peftLoraConfigJson(fields: {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: string[] | string;
  fanInFanOut: boolean;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  baseModelNameOrPath: string | null;
  useDora?: boolean;
  useRslora?: boolean;
}): Record<string, unknown> {
  return {
    alpha_pattern: fields.alphaPattern,
    auto_mapping: null,
    base_model_name_or_path: fields.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: fields.fanInFanOut,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: fields.loraAlpha,
    lora_dropout: fields.loraDropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: fields.r,
    rank_pattern: fields.rankPattern,
    revision: null,
    target_modules: fields.targetModules,
    task_type: null,
    use_dora: fields.useDora ?? false,
    use_rslora: fields.useRslora ?? false,
  };
}

/** `adapter_config.json` of a PEFT (IA)³ adapter; every module scales its output (no feed-forward modules). */
export function peftIa3ConfigJson(fields: { targetModules: string[] | string; fanInFanOut: boolean; baseModelNameOrPath: string | null }): Record<string, unknown> {
  return {
    auto_mapping: null,
    base_model_name_or_path: fields.baseModelNameOrPath,
    fan_in_fan_out: fields.fanInFanOut,
    feedforward_modules: [],
    inference_mode: true,
    init_ia3_weights: true,
    modules_to_save: null,
    peft_type: 'IA3',
    revision: null,
    target_modules: fields.targetModules,
    task_type: null,
  };
}
