import { buildConfig } from '@adapterkit/core';
import type { PromptTuningConfig as Config } from './config';
import { promptTuning } from './method';

/** A full, validated config: defaults plus `overrides`, like the reference's `PromptTuningConfig(prompt_length=5)`. */
export function PromptTuningConfig(overrides: Partial<Omit<Config, 'method'>> & Record<string, unknown> = {}): Config {
  return buildConfig(promptTuning, undefined, overrides, 'PromptTuningConfig(...)') as unknown as Config;
}
