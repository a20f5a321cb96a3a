import { AdapterConfigError, type FieldSpec, type AdapterConfigBase } from '@adapterkit/core';
import type { LoRAExtraModule } from './sites';

/** The attention matrices LoRA can wrap: query, key, value. */
export type AttnMatrix = 'q' | 'k' | 'v';

/** `add` = LoRA (`y + (α/r)·B·A·x`), `scale` = (IA)³ (`y ⊙ (α/r)·ℓ`, requires `r == 1`). */
export type CompositionMode = 'add' | 'scale';

/** Initialisation of A/B: `lora` (kaiming-uniform A, zero B), `bert` (N(0, 0.02) both), `ia3` (ones). */
export type LoRAInitWeights = 'lora' | 'bert' | 'ia3';

/** Field specs (types, snake_case names) of {@link LoRAConfig}. */
export const LORA_FIELDS: { readonly [K in Exclude<keyof LoRAConfig, 'method'>]-?: FieldSpec } = {
  selfattnLora: { type: 'bool', doc: 'LoRA on the attention projections listed in attn_matrices' },
  intermediateLora: { type: 'bool', doc: 'LoRA on the FFN intermediate dense' },
  outputLora: { type: 'bool', doc: 'LoRA on the FFN output dense' },
  r: { type: 'int', max: 16384, doc: 'rank (1 in scale mode)' },
  alpha: { type: 'number', doc: 'scaling = alpha / r' },
  dropout: { type: 'float', doc: 'dropout on the LoRA input' },
  attnMatrices: { type: 'list', doc: "subset of ['q', 'k', 'v']" },
  compositionMode: { type: 'string', values: ['add', 'scale'], doc: "'add' (LoRA) or 'scale' ((IA)³)" },
  initWeights: { type: 'string', values: ['lora', 'bert', 'ia3'], doc: 'initialisation scheme' },
  useGating: { type: 'bool', doc: 'learned gate instead of alpha / r' },
  useRslora: { type: 'bool', omitDefault: true, doc: 'rsLoRA: scaling = alpha / sqrt(r) (written only when true)' },
  useDora: { type: 'bool', omitDefault: true, doc: 'DoRA: magnitude vector and row-normalised W + s·B·A (written only when true)' },
  extraModules: { type: 'list', omitDefault: true, doc: "PEFT-only dense layers: subset of ['attention_output', 'gate', 'pooler'] (written only when non-empty)" },
  leaveOut: { type: 'list', omitDefault: true, doc: 'layer ids without LoRA (adapters 1.1 field; adapter-transformers 3.2.1 honours it too; written only when non-empty)' },
};

/** Defaults of {@link LoRAConfig} (adapter-transformers 3.2.1). */
export const LORA_DEFAULTS: Omit<LoRAConfig, 'method'> = {
  selfattnLora: true,
  intermediateLora: false,
  outputLora: false,
  r: 8,
  alpha: 8,
  dropout: 0.0,
  attnMatrices: ['q', 'v'],
  compositionMode: 'add',
  initWeights: 'lora',
  useGating: false,
  useRslora: false,
  useDora: false,
  extraModules: [],
  leaveOut: [],
};

/** The reference's `IA3Config()`: k, v and the FFN intermediate dense, scaled (r = alpha = 1, ones init). */
export const IA3_PRESET: Partial<Omit<LoRAConfig, 'method'>> = {
  selfattnLora: true,
  intermediateLora: true,
  outputLora: false,
  r: 1,
  alpha: 1,
  dropout: 0.0,
  attnMatrices: ['k', 'v'],
  compositionMode: 'scale',
  initWeights: 'ia3',
  useGating: false,
};

const ATTN_MATRICES: readonly string[] = ['q', 'k', 'v'];
const EXTRA_MODULES: readonly string[] = ['attention_output', 'gate', 'pooler'];

/** Check a resolved config; throws AdapterConfigError naming the field at fault. */
export function validateLoRAConfig(config: LoRAConfig): void {
  const fail = (field: string, message: string): never => {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `LoRA config: field '${field}' ${message}`);
  };
  if (config.r < 1) fail('r', `must be a positive integer, got ${config.r}`);
  if (config.compositionMode === 'scale' && config.r !== 1) {
    fail('r', `must be 1 when composition_mode is 'scale' ((IA)³), got ${config.r}`);
  }
  if (!Number.isFinite(config.alpha)) fail('alpha', `must be a finite number, got ${String(config.alpha)}`);
  if (config.dropout < 0 || config.dropout >= 1) fail('dropout', `must be in [0, 1), got ${config.dropout}`);
  if (config.useDora && config.compositionMode !== 'add') fail('use_dora', "needs composition_mode 'add' (DoRA rescales a LoRA-updated weight)");
  if (config.useDora && config.useGating) fail('use_dora', 'cannot be combined with use_gating');
  const seenExtra = new Set<string>();
  for (const m of config.extraModules as readonly unknown[]) {
    if (typeof m !== 'string' || !EXTRA_MODULES.includes(m)) {
      fail('extra_modules', `may only contain 'attention_output', 'gate', 'pooler', got ${JSON.stringify(m)}`);
    }
    if (seenExtra.has(m as string)) fail('extra_modules', `lists '${String(m)}' twice`);
    seenExtra.add(m as string);
  }
  if (config.extraModules.length > 0 && config.useGating) fail('extra_modules', 'cannot be combined with use_gating');
  const seenLayers = new Set<number>();
  for (const l of config.leaveOut as readonly unknown[]) {
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0) fail('leave_out', `must be a list of layer ids (integers >= 0), got ${JSON.stringify(l)}`);
    if (seenLayers.has(l as number)) fail('leave_out', `lists layer ${String(l)} twice`);
    seenLayers.add(l as number);
  }
  const seen = new Set<string>();
  for (const m of config.attnMatrices as readonly unknown[]) {
    if (typeof m !== 'string' || !ATTN_MATRICES.includes(m)) {
      fail('attn_matrices', `may only contain 'q', 'k', 'v', got ${JSON.stringify(m)}`);
    }
    if (seen.has(m as string)) fail('attn_matrices', `lists '${String(m)}' twice`);
    seen.add(m as string);
  }
}

/**
 * The settings of a LoRA config that AdapterHub's `LoRAConfig` (adapter-transformers 3.2.1 and `adapters` 1.1) lacks,
 * one line each naming the field. Their `from_dict` accepts any key (an unknown one becomes a plain attribute that
 * nothing reads), so a file with these fields loads there without an error but as a different model: no LoRA on the
 * `extra_modules` layers (their weights are dropped as unexpected keys), scaling `alpha / r` instead of rsLoRA's
 * `alpha / √r`, no DoRA magnitude. PEFT's format has all three (`target_modules`, `use_rslora`, `use_dora`).
 * `leave_out` is a field of `adapters` 1.1, but adapter-transformers 3.2.1 drops it when adding the adapter and builds
 * the left-out layers' modules too; the file lacks their weights, so they keep their initial values: a no-op (zero B,
 * (IA)³ ones) except with `init_weights="bert"`, which is listed.
 */
export function loraAdapterHubGaps(config: LoRAConfig): string[] {
  const gaps: string[] = [];
  if (config.extraModules.length > 0) {
    gaps.push(`extra_modules=${JSON.stringify(config.extraModules)}: they have no LoRA on these layers and drop its weights on load`);
  }
  if (config.useRslora) gaps.push('use_rslora=True: they scale by alpha / r, not alpha / sqrt(r)');
  if (config.useDora) gaps.push('use_dora=True: they have no DoRA (the magnitude vector is dropped on load)');
  if (config.leaveOut.length > 0 && config.initWeights === 'bert') {
    gaps.push(
      `leave_out=${JSON.stringify(config.leaveOut)} with init_weights="bert": adapter-transformers 3.2.1 ignores leave_out for LoRA and builds those layers' modules, which start random with this init`,
    );
  }
  return gaps;
}

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
  /**
   * Layers (ids from 0) that get no LoRA module (`adapters` 1.1 `leave_out`; adapter-transformers 3.2.1 reads the key
   * too). Model-level modules (the pooler) are not in a layer and stay. Saved only when non-empty. Default `[]`.
   */
  readonly leaveOut: readonly number[];
}

/** Overrides accepted by the config constructors (camelCase or snake_case keys). */
export type LoRAConfigOverrides = Partial<Omit<LoRAConfig, 'method'>> & Record<string, unknown>;
