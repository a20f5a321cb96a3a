import { ConfigReader, type ModelConfig } from './config-reader';
import { FileFormatError, readBytes, refLabel, type FileRef } from './core';
import { architectureOf, ARCHITECTURES } from './registry';

export type { ModelConfig, RopeScaling } from './config-reader';

/** HF `model_type`s this package implements (from the registered architectures). */
export const SUPPORTED_MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => a.modelTypes);

/** One of {@link SUPPORTED_MODEL_TYPES}. */
export type ModelType = string;

/**
 * Parse a Hugging Face `config.json` object of a supported architecture ({@link SUPPORTED_MODEL_TYPES}).
 *
 * @param json - The parsed JSON object.
 * @param source - Name used in error messages (usually the file path).
 * @throws FileFormatError `UNSUPPORTED_MODEL_TYPE` for an unknown `model_type` (the message lists the supported
 *   ones), `BAD_MODEL_CONFIG` for an invalid field, `UNSUPPORTED_MODEL_CONFIG` for an unsupported option.
 */
export function parseConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FileFormatError('BAD_MODEL_CONFIG', `${source}: a model config must be a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  const modelType = raw['model_type'];
  const arch = typeof modelType === 'string' ? architectureOf(modelType) : undefined;
  if (typeof modelType !== 'string' || !arch) {
    throw new FileFormatError(
      'UNSUPPORTED_MODEL_TYPE',
      `${source}: model_type ${JSON.stringify(modelType ?? null)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  const config = arch.parseConfig(new ConfigReader(raw, source), modelType);
  if (!Number.isInteger(config.headDim)) {
    throw new FileFormatError(
      'BAD_MODEL_CONFIG',
      `${source}: hidden size ${config.hiddenSize} is not a multiple of the number of attention heads (${config.numHeads})`,
    );
  }
  if (config.numHeads % config.numKeyValueHeads !== 0) {
    throw new FileFormatError(
      'BAD_MODEL_CONFIG',
      `${source}: num_attention_heads ${config.numHeads} is not a multiple of num_key_value_heads ${config.numKeyValueHeads}`,
    );
  }
  return config;
}

/**
 * The first position id of a sequence: RoBERTa-style models (`roberta`, `xlm-roberta`) number positions from
 * `pad_token_id + 1`, as HF's `create_position_ids_from_input_ids`; the others from 0.
 */
export function positionOffset(config: ModelConfig): number {
  return architectureOf(config.modelType)!.positionOffset(config);
}

/** The longest sequence (in tokens) the position table takes: `max_position_embeddings` less {@link positionOffset}. */
export function maxSequenceLength(config: ModelConfig): number {
  return config.maxPositionEmbeddings - positionOffset(config);
}

/**
 * Read and parse `config.json` (see {@link parseConfig}).
 *
 * @throws FileFormatError when the file cannot be read, is not JSON, or is not a supported config.
 */
export async function readConfig(file: string | FileRef): Promise<ModelConfig> {
  const path = refLabel(file);
  let text: string;
  try {
    text = new TextDecoder().decode(await readBytes(file));
  } catch (err) {
    throw new FileFormatError('MODEL_CONFIG_IO', `${path}: cannot read model config: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError('BAD_MODEL_CONFIG', `${path}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(json, path);
}

/** Accept either a parsed {@link ModelConfig} or a raw HF config object. */
export function toModelConfig(config: ModelConfig | Record<string, unknown>, source = '<config>'): ModelConfig {
  if (typeof (config as ModelConfig).modelType === 'string' && typeof (config as ModelConfig).hiddenSize === 'number') {
    return config as ModelConfig;
  }
  return parseConfig(config, source);
}
