import * as tf from '@tensorflow/tfjs-core';
import type { ModelInputs } from '@adapterkit/core';
import { maxSequenceLength, type ModelConfig } from '@adapterkit/models';
import { CliError } from '../cli/errors';

const FIELDS = [
  ['input_ids', 'inputIds'],
  ['attention_mask', 'attentionMask'],
  ['token_type_ids', 'tokenTypeIds'],
  ['position_ids', 'positionIds'],
] as const;

type Field = (typeof FIELDS)[number][1];

/** Token-id matrices read from an inputs JSON file, `[batch, seq]` each. */
export type InputArrays = { inputIds: number[][] } & Partial<Record<Exclude<Field, 'inputIds'>, number[][]>>;

function matrix(value: unknown, key: string, where: string): number[][] {
  const rows = Array.isArray(value) && value.length > 0 && !Array.isArray(value[0]) ? [value] : value;
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every(Array.isArray)) {
    throw new CliError(`${where}: '${key}' must be a non-empty list of token lists ([batch][seq]) or one token list`);
  }
  const len = (rows[0] as unknown[]).length;
  rows.forEach((r: unknown[], i) => {
    if (r.length !== len) throw new CliError(`${where}: '${key}' rows differ in length (row 0 has ${len}, row ${i} has ${r.length}); pad them`);
    r.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new CliError(`${where}: ${key}[${i}][${j}] = ${JSON.stringify(v)} is not an integer`);
    });
  });
  if (len === 0) throw new CliError(`${where}: '${key}' has empty sequences`);
  return rows as number[][];
}

const shape = (m: number[][]): string => `[${m.length}, ${m[0]!.length}]`;

/**
 * Read model inputs from a parsed inputs JSON: a flat object (`input_ids`, optional `attention_mask`,
 * `token_type_ids`, `position_ids`; snake_case or camelCase; one sequence or a batch) or a document with one
 * such object per model type (like the golden fixtures' `inputs.json`), from which the model's section is
 * taken. Checks shapes against `input_ids` and values against the model (vocabulary, token types, positions).
 */
export function readInputs(doc: unknown, config: ModelConfig, where: string): InputArrays {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliError(`${where}: expected a JSON object with input_ids`);
  let obj = doc as Record<string, unknown>;
  if (!('input_ids' in obj) && !('inputIds' in obj)) {
    const section = obj[config.modelType];
    const sections = Object.keys(obj).filter((k) => typeof obj[k] === 'object' && obj[k] !== null && !Array.isArray(obj[k]));
    if (typeof section !== 'object' || section === null) {
      throw new CliError(`${where}: no input_ids, and no '${config.modelType}' section${sections.length ? ` (sections: ${sections.join(', ')})` : ''}`);
    }
    obj = section as Record<string, unknown>;
    where = `${where} [${config.modelType}]`;
    if (!('input_ids' in obj) && !('inputIds' in obj)) throw new CliError(`${where}: no input_ids (keys: ${Object.keys(obj).join(', ')})`);
  }
  const out: Partial<Record<Field, number[][]>> = {};
  for (const [snake, camel] of FIELDS) {
    const v = obj[snake] ?? obj[camel];
    if (v !== undefined && v !== null) out[camel] = matrix(v, snake, where);
  }
  const ids = out.inputIds!;
  for (const [snake, camel] of FIELDS.slice(1)) {
    const m = out[camel];
    if (m && (m.length !== ids.length || m[0]!.length !== ids[0]!.length)) {
      throw new CliError(`${where}: shape mismatch: ${snake} is ${shape(m)} but input_ids is ${shape(ids)}`);
    }
  }
  const check = (m: number[][] | undefined, key: string, limit: number, what: string): void => {
    m?.forEach((r, i) =>
      r.forEach((v, j) => {
        if (v < 0 || v >= limit) throw new CliError(`${where}: ${key}[${i}][${j}] = ${v} is outside ${what} (0..${limit - 1})`);
      }),
    );
  };
  check(ids, 'input_ids', config.vocabSize, `the vocabulary of size ${config.vocabSize}`);
  check(out.attentionMask, 'attention_mask', 2, 'a 0/1 mask');
  if (out.tokenTypeIds && config.typeVocabSize === 0) throw new CliError(`${where}: token_type_ids given, but ${config.modelType} has no token types`);
  check(out.tokenTypeIds, 'token_type_ids', Math.max(1, config.typeVocabSize), `type_vocab_size ${config.typeVocabSize}`);
  const maxLen = maxSequenceLength(config);
  if (ids[0]!.length > maxLen) throw new CliError(`${where}: sequences of ${ids[0]!.length} tokens exceed the model's limit of ${maxLen} positions`);
  check(out.positionIds, 'position_ids', config.maxPositionEmbeddings, `max_position_embeddings ${config.maxPositionEmbeddings}`);
  return out as InputArrays;
}

/** Upload input matrices as int32 `[batch, seq]` tensors (the caller disposes them). */
export function toTensors(inputs: InputArrays): ModelInputs {
  const t = (m: number[][]): tf.Tensor2D => tf.tensor2d(m, [m.length, m[0]!.length], 'int32');
  return {
    inputIds: t(inputs.inputIds),
    ...(inputs.attentionMask ? { attentionMask: t(inputs.attentionMask) } : {}),
    ...(inputs.tokenTypeIds ? { tokenTypeIds: t(inputs.tokenTypeIds) } : {}),
    ...(inputs.positionIds ? { positionIds: t(inputs.positionIds) } : {}),
  };
}
