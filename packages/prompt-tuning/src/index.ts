/**
 * `@adapterkit/prompt-tuning`: prompt tuning as in `adapters` 1.1 — a trainable soft prompt prepended to the output
 * of the input embeddings, with the attention mask extended for it. Files use the reference's key
 * (`prompt_tuning.prompt_tunings.<name>.prompt_embedding.weight`).
 *
 * ```ts
 * const model = new AdapterModel(host, { methods: [...plugins] });
 * model.addAdapter('task', 'prompt_tuning[prompt_length=5]', { setActive: true });
 * ```
 *
 * @packageDocumentation
 */
import { promptTuning } from './method';

export { promptTuning, promptKey, combinePrompt } from './method';
export {
  PROMPT_TUNING,
  PROMPT_TUNING_DEFAULTS,
  PROMPT_TUNING_FIELDS,
  PROMPT_TUNING_PRESETS,
  RANDOM_UNIFORM_SCALE,
  validatePromptTuningConfig,
  type PromptCombine,
  type PromptInit,
} from './config';
export { PromptTuningConfig } from './prompt-config';

/** What this package installs into a model: `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [promptTuning] as const;
