import * as tf from '@tensorflow/tfjs-core';
import type { BatchTensors, EncodedBatch } from '../tokenizer/encoded-batch';
import { int32Matrix } from '../tokenizer/encoded-batch';

/** Label value ignored by losses (masked LM: unmasked positions; causal LM: padding). */
export const IGNORE_INDEX = -100;

/** The tensors of a {@link CollatedBatch}. */
export interface CollatedTensors {
  /** int32 `[batch, seq]` inputs, named as the hosts' `ModelInputs`. */
  readonly inputs: BatchTensors;
  /** int32 `[batch]` class ids, or int32 `[batch, seq]` token labels (−100 = ignored). */
  readonly labels: tf.Tensor1D | tf.Tensor2D;
}

/** A padded batch with labels, as arrays; `toTensors()` uploads it. */
export interface CollatedBatch {
  /** `[batch][seq]` */
  readonly inputIds: number[][];
  /** `[batch][seq]`, 0 at padding. */
  readonly attentionMask: number[][];
  /** `[batch][seq]` */
  readonly tokenTypeIds: number[][];
  /** `[batch]` class ids, or `[batch][seq]` token labels with −100 where no loss is taken. */
  readonly labels: number[] | number[][];
  /** The caller owns (and disposes) the tensors. */
  toTensors(): CollatedTensors;
}

/** Combines an encoded batch with its labels. */
export function collated(batch: EncodedBatch, labels: number[] | number[][], inputIds: number[][] = batch.inputIds): CollatedBatch {
  return {
    inputIds,
    attentionMask: batch.attentionMask,
    tokenTypeIds: batch.tokenTypeIds,
    labels,
    toTensors(): CollatedTensors {
      const token = Array.isArray(labels[0]);
      const labelTensor = token ? int32Matrix(labels as number[][], 'labels') : tf.tensor1d(labels as number[], 'int32');
      return {
        inputs: {
          inputIds: int32Matrix(inputIds, 'inputIds'),
          attentionMask: int32Matrix(batch.attentionMask, 'attentionMask'),
          tokenTypeIds: int32Matrix(batch.tokenTypeIds, 'tokenTypeIds'),
        },
        labels: labelTensor,
      };
    },
  };
}
