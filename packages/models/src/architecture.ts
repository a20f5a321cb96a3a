import type { ModelHost } from './base';
import type { ConfigReader, ModelConfig } from './config-reader';
import type { ParameterStore, WeightSpec } from './weights';

/**
 * Everything `@adapterkit/models` needs to know about one architecture (a model family), as data plus the host
 * class that runs it. Every other package reads what it needs from the host's `HostInfo`, so adding a family is
 * one descriptor (plus its host) and one line in `registry.ts` — see `docs/adding-a-model.md`.
 */
export interface Architecture {
  /** HF `model_type`s this descriptor parses (e.g. `['bert']`, `['llama', 'qwen2']`). */
  readonly modelTypes: readonly string[];
  /** Parse `config.json` (validated, with the transformers config class's defaults). */
  parseConfig(r: ConfigReader, modelType: string): ModelConfig;
  /** Attribute of the base model in HF's `*For*` classes, which prefixes their state-dict keys (`bert`, `model`). */
  baseModelPrefix(config: ModelConfig): string;
  /** First position id of a sequence (RoBERTa: `pad_token_id + 1`; 0 elsewhere). */
  positionOffset(config: ModelConfig): number;
  /**
   * Every parameter a host of `config` has, in a fixed order, under its state-dict name without the base-model
   * prefix (a name outside the base model, e.g. Llama's untied `lm_head.weight`, keeps its own).
   */
  expectedWeights(config: ModelConfig): WeightSpec[];
  /** Non-parameter buffers of a `state_dict()` the host recreates as constants (ignored on load, with a note). */
  isBuffer(config: ModelConfig, name: string): boolean;
  /** A row `initHost` keeps at zero (`padding_idx` rows), or undefined. */
  zeroRow?(config: ModelConfig, name: string): number | undefined;
  /** Build the host over loaded parameters. */
  create(config: ModelConfig, store: ParameterStore, notes: readonly string[]): ModelHost;
}
