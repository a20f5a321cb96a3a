import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError } from '../errors';
import type { ModelInputs } from './host';

/** One `[batch, seq]` input: an int32 tensor, or plain rows of integers (`number[][]`, e.g. from a tokenizer). */
export type IdMatrix = tf.Tensor2D | readonly (readonly number[])[];

/**
 * What {@link AdapterModel.forward} accepts: {@link ModelInputs} where each field may also be plain rows of
 * integers (`[batch][seq]`). Tensors stay the caller's (never disposed by the model); tensors made from plain rows
 * are freed with the forward's intermediates.
 */
export interface ModelInputsLike {
  readonly inputIds: IdMatrix;
  readonly attentionMask?: IdMatrix;
  readonly tokenTypeIds?: IdMatrix;
  readonly positionIds?: IdMatrix;
}

const FIELDS = ['inputIds', 'attentionMask', 'tokenTypeIds', 'positionIds'] as const;

/** Whether `x` is a tfjs tensor (duck-typed, so a tensor of another copy of tfjs-core is recognised too). */
function isTensor(x: unknown): x is tf.Tensor {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Array.isArray((x as tf.Tensor).shape) && 'dataId' in x;
}

/** Whether `x` is a plain (non-tensor) `[batch][seq]` array. */
function isRows(x: unknown): x is readonly (readonly unknown[])[] {
  return Array.isArray(x);
}

/**
 * Rows → int32 `[batch, seq]` tensor, validated before allocating: a non-empty rectangular array of integers.
 * Throws `AdapterKitError` `INVALID_INPUTS` naming the field and the position at fault.
 */
function rowsToTensor(field: string, rows: readonly (readonly unknown[])[]): tf.Tensor2D {
  if (rows.length === 0) throw new AdapterKitError('INVALID_INPUTS', `forward: ${field} has no rows (expected [batch][seq] integers)`);
  const first = rows[0];
  if (!Array.isArray(first)) {
    throw new AdapterKitError('INVALID_INPUTS', `forward: ${field}[0] is ${typeof first === 'number' ? 'a number' : typeof first}, expected a row of integers ([batch][seq]; wrap one sequence as [ids])`);
  }
  const seq = first.length;
  if (seq === 0) throw new AdapterKitError('INVALID_INPUTS', `forward: ${field}[0] is empty (expected at least one position)`);
  const flat = new Int32Array(rows.length * seq);
  for (let b = 0; b < rows.length; b++) {
    const row = rows[b];
    if (!Array.isArray(row)) throw new AdapterKitError('INVALID_INPUTS', `forward: ${field}[${b}] is not an array (expected [batch][seq] integers)`);
    if (row.length !== seq) throw new AdapterKitError('INVALID_INPUTS', `forward: ${field}[${b}] has ${row.length} positions, ${field}[0] has ${seq} (rows must have equal lengths: pad them)`);
    for (let s = 0; s < seq; s++) {
      const v: unknown = row[s];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new AdapterKitError('INVALID_INPUTS', `forward: ${field}[${b}][${s}] is ${typeof v === 'number' ? v : typeof v}, expected an int32 integer`);
      }
      flat[b * seq + s] = v;
    }
  }
  return tf.tensor2d(flat, [rows.length, seq], 'int32');
}

/**
 * Normalise forward inputs: plain rows become int32 `[batch, seq]` tensors (call inside a `tf.tidy` that frees
 * them); tensors pass through unchanged. Fails with `INVALID_INPUTS` on a missing `inputIds`, a field that is neither,
 * ragged or non-integer rows, or rows whose shape differs from `inputIds`'.
 */
export function toModelInputs(inputs: ModelInputsLike): ModelInputs {
  if (inputs === null || typeof inputs !== 'object' || inputs.inputIds === undefined || inputs.inputIds === null) {
    throw new AdapterKitError('INVALID_INPUTS', 'forward: inputs.inputIds is missing (expected { inputIds: int32 [batch, seq] tensor or number[][] })');
  }
  const out: Record<string, tf.Tensor2D> = {};
  for (const field of FIELDS) {
    const value: unknown = inputs[field];
    if (value === undefined) continue;
    if (isTensor(value)) {
      out[field] = value as tf.Tensor2D; // the caller's tensor, passed on as before
      continue;
    }
    if (!isRows(value)) throw new AdapterKitError('INVALID_INPUTS', `forward: ${field} is ${value === null ? 'null' : typeof value}, expected an int32 [batch, seq] tensor or number[][]`);
    const t = rowsToTensor(field, value);
    const ids = out['inputIds'];
    if (ids && (ids.shape[0] !== t.shape[0] || ids.shape[1] !== t.shape[1])) {
      t.dispose();
      throw new AdapterKitError('INVALID_INPUTS', `forward: ${field} has shape [${t.shape.join(', ')}], inputIds has [${ids.shape.join(', ')}]`);
    }
    out[field] = t;
  }
  return out as unknown as ModelInputs;
}
