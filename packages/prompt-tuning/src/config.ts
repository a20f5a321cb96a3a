import { AdapterConfigError, type AdapterConfigBase, type FieldSpec } from '@adapterkit/core';

/** Method id of prompt tuning (also its `architecture` in `adapter_config.json`). */
export const PROMPT_TUNING = 'prompt_tuning';

/** How the soft prompt is initialised: `random_uniform` (U(±0.5)) or `from_string` (embeddings of a text). */
export type PromptInit = 'random_uniform' | 'from_string';

/** Where the prompt goes: before every token (`prefix`) or after the first one (`prefix_after_bos`). */
export type PromptCombine = 'prefix' | 'prefix_after_bos';

/**
 * Config of prompt tuning (`adapters` 1.1 `PromptTuningConfig`, Lester et al. 2021): `promptLength` trainable
 * vectors prepended to the output of the input embeddings; the attention mask is extended so every token attends
 * to them.
 */
export interface PromptTuningConfig extends AdapterConfigBase {
  readonly method: typeof PROMPT_TUNING;
  /** Number of soft-prompt vectors P. Default 10. */
  readonly promptLength: number;
  /** Initialisation. Default `random_uniform`. */
  readonly promptInit: PromptInit;
  /** Text whose token embeddings initialise the prompt (`from_string` only). Default null. */
  readonly promptInitText: string | null;
  /** Placement of the prompt. Default `prefix`. */
  readonly combine: PromptCombine;
}

/** Field specs (snake_case keys of `adapter_config.json`). */
export const PROMPT_TUNING_FIELDS: { readonly [K in Exclude<keyof PromptTuningConfig, 'method'>]-?: FieldSpec } = {
  promptLength: { type: 'int', max: 4096, doc: 'number of soft-prompt vectors' },
  promptInit: { type: 'string', values: ['random_uniform', 'from_string'], doc: "initialisation: 'random_uniform' (U(±0.5)) or 'from_string'" },
  promptInitText: { type: 'string', nullable: true, doc: "text for prompt_init='from_string'" },
  combine: { type: 'string', values: ['prefix', 'prefix_after_bos'], doc: "'prefix' (before every token) or 'prefix_after_bos' (after token 0)" },
};

/** Defaults of `adapters` 1.1 `PromptTuningConfig`. */
export const PROMPT_TUNING_DEFAULTS: Omit<PromptTuningConfig, 'method'> = {
  promptLength: 10,
  promptInit: 'random_uniform',
  promptInitText: null,
  combine: 'prefix',
};

/** Config names: `prompt_tuning`. */
export const PROMPT_TUNING_PRESETS: Readonly<Record<string, Partial<Omit<PromptTuningConfig, 'method'>>>> = {
  prompt_tuning: {},
};

/**
 * Half-width of the `random_uniform` initialisation: the reference's `random_uniform_scale` (0.5), a class attribute
 * that is not a dataclass field, so it is never written to `adapter_config.json`.
 */
export const RANDOM_UNIFORM_SCALE = 0.5;

/** Check a resolved config; throws AdapterConfigError naming the field at fault. */
export function validatePromptTuningConfig(config: PromptTuningConfig): void {
  if (!Number.isInteger(config.promptLength) || config.promptLength < 1) {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `prompt_tuning: 'prompt_length' must be a positive integer, got ${config.promptLength}`);
  }
  if (config.promptInit === 'from_string' && (config.promptInitText === null || config.promptInitText === '')) {
    throw new AdapterConfigError('BAD_FIELD_VALUE', "prompt_tuning: prompt_init='from_string' needs 'prompt_init_text'");
  }
}
