import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, type AdapterModel, type ModelInputs } from '@adapterkit/core';
import type { EncodedBatch } from '@adapterkit/data';
import { maxSequenceLength, type ModelHost } from '@adapterkit/models';

/** The host's view the pipelines need: its token types and its longest input. */
export interface HostLimits {
  /** Whether the host takes token type ids (BERT: yes; DistilBERT, GPT-2, Llama: no). */
  readonly tokenTypes: boolean;
  /** Positions the model takes (its `max_position_embeddings` less any offset). */
  readonly maxLength: number;
}

/** {@link HostLimits} of a model over an `@adapterkit/models` host. */
export function hostLimits(model: AdapterModel): HostLimits {
  const config = (model.host as ModelHost).config;
  return { tokenTypes: config.typeVocabSize > 0, maxLength: maxSequenceLength(config) };
}

/** An encoded batch → int32 `[batch, seq]` tensors (call inside `tf.tidy`). */
export function batchInputs(batch: Pick<EncodedBatch, 'inputIds' | 'attentionMask' | 'tokenTypeIds'>, limits: HostLimits): ModelInputs {
  const t = (m: readonly (readonly number[])[]): tf.Tensor2D => tf.tensor2d(m as number[][], [m.length, m[0]!.length], 'int32');
  return { inputIds: t(batch.inputIds), attentionMask: t(batch.attentionMask), ...(limits.tokenTypes ? { tokenTypeIds: t(batch.tokenTypeIds) } : {}) };
}

/** Validate a pipeline's text input: a string or a non-empty array of strings. */
export function textList(input: unknown, task: string): { texts: string[]; single: boolean } {
  if (typeof input === 'string') return { texts: [input], single: true };
  if (Array.isArray(input) && input.length > 0 && input.every((t) => typeof t === 'string')) return { texts: input as string[], single: false };
  throw new AdapterKitError('PIPELINE_INPUT', `${task}: expected a string or a non-empty array of strings, got ${Array.isArray(input) ? `an array (${input.length} items${input.length ? `, item types ${[...new Set(input.map((t) => typeof t))].join('/')}` : ''})` : typeof input}`);
}

/** Validate a positive integer option. */
export function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new AdapterKitError('PIPELINE_OPTION', `${what} must be a positive integer, got ${v}`);
  return v;
}
