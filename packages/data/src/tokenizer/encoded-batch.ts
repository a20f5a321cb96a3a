import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError } from '@adapterkit/core';

/** `'longest'`: pad to the longest row of the batch; `'max_length'`: pad to `maxLength`. */
export type PaddingStrategy = 'longest' | 'max_length';

/** The int32 `[batch, seq]` tensors of a batch, named as the hosts' `ModelInputs`. */
export interface BatchTensors {
  readonly inputIds: tf.Tensor2D;
  readonly attentionMask: tf.Tensor2D;
  readonly tokenTypeIds: tf.Tensor2D;
}

/** What {@link EncodedBatch.fromEncodings} pads with. */
export interface PaddingSpec {
  readonly strategy: PaddingStrategy;
  readonly maxLength: number | undefined;
  readonly padToMultipleOf: number | undefined;
  readonly padTokenId: number;
}

interface Row {
  readonly ids: readonly number[];
  readonly tokenTypeIds: readonly number[];
  readonly attentionMask: readonly number[];
  readonly specialTokensMask: readonly number[];
}

/** `[batch, seq]` int32 tensor of equal-length rows. */
export function int32Matrix(rows: readonly (readonly number[])[], what: string): tf.Tensor2D {
  const b = rows.length;
  const s = rows[0]?.length ?? 0;
  const data = new Int32Array(b * s);
  rows.forEach((r, i) => {
    if (r.length !== s) {
      throw new AdapterKitError('RAGGED_BATCH', `${what}: row ${i} has ${r.length} tokens, row 0 has ${s}; encode with padding to make tensors`);
    }
    data.set(r, i * s);
  });
  return tf.tensor2d(data, [b, s], 'int32');
}

/**
 * A batch of encoded sequences as plain arrays (`[batch][seq]`), right-padded: padding has the pad id, attention
 * mask 0, token type 0 and special-tokens mask 1.
 */
export class EncodedBatch {
  private constructor(
    /** Token ids `[batch][seq]`. */
    readonly inputIds: number[][],
    /** 1 for real tokens, 0 for padding, `[batch][seq]`. */
    readonly attentionMask: number[][],
    /** Segment ids (0 first text, 1 second text for BERT), `[batch][seq]`. */
    readonly tokenTypeIds: number[][],
    /** 1 at special tokens and padding, `[batch][seq]`. */
    readonly specialTokensMask: number[][],
  ) {}

  /** Pads encoded rows (`padding` null: none) into a batch. */
  static fromEncodings(rows: readonly Row[], padding: PaddingSpec | null): EncodedBatch {
    let target = 0;
    if (padding !== null) {
      target = Math.max(0, ...rows.map((r) => r.ids.length));
      if (padding.strategy === 'max_length' && padding.maxLength !== undefined) target = Math.max(target, padding.maxLength);
      const m = padding.padToMultipleOf;
      if (m !== undefined) {
        if (!Number.isInteger(m) || m < 1) throw new AdapterKitError('BAD_OPTION', `padToMultipleOf must be a positive integer, got ${m}`);
        target = Math.ceil(target / m) * m;
      }
    }
    const pad = (r: readonly number[], v: number): number[] => [...r, ...new Array<number>(Math.max(0, target - r.length)).fill(v)];
    const padId = padding?.padTokenId ?? 0;
    return new EncodedBatch(
      rows.map((r) => pad(r.ids, padId)),
      rows.map((r) => pad(r.attentionMask, 0)),
      rows.map((r) => pad(r.tokenTypeIds, 0)),
      rows.map((r) => pad(r.specialTokensMask, 1)),
    );
  }

  /** Number of rows. */
  get batchSize(): number {
    return this.inputIds.length;
  }

  /** Length of the rows (of the first row if ragged). */
  get seqLength(): number {
    return this.inputIds[0]?.length ?? 0;
  }

  /** Uploads the batch as int32 `[batch, seq]` tensors (the caller owns and disposes them). */
  toTensors(): BatchTensors {
    return {
      inputIds: int32Matrix(this.inputIds, 'inputIds'),
      attentionMask: int32Matrix(this.attentionMask, 'attentionMask'),
      tokenTypeIds: int32Matrix(this.tokenTypeIds, 'tokenTypeIds'),
    };
  }
}
