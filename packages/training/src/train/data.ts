import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, Rng, type ModelInputs } from '@adapterkit/core';
import { IGNORE_INDEX } from '../losses';

/** One training/evaluation example: token ids plus its label(s). */
export interface Example {
  readonly inputIds: readonly number[];
  /** Default: 1 for every token. */
  readonly attentionMask?: readonly number[];
  readonly tokenTypeIds?: readonly number[];
  /**
   * A class id (classification), a target value (regression), a 0/1 vector (multi-label), or one label per token
   * (tagging / LM; −100 = ignored).
   */
  readonly labels?: number | readonly number[];
}

/** One encoded choice of a {@link ChoiceExample}. */
export type ChoiceInput = Pick<Example, 'inputIds' | 'attentionMask' | 'tokenTypeIds'>;

/** A multiple-choice example: one encoded sequence per choice (e.g. context + answer i) and the index of the right one. */
export interface ChoiceExample {
  readonly choices: readonly ChoiceInput[];
  /** Index of the right choice. */
  readonly labels?: number;
}

/** Any example {@link collate} and `train` take. */
export type TrainExample = Example | ChoiceExample;

/** Whether an example is a multiple-choice one. */
export function isChoiceExample(e: TrainExample): e is ChoiceExample {
  return (e as Partial<ChoiceExample>).choices !== undefined;
}

/** How labels are laid out in a batch (`choice`: multiple choice, one class id per example over its choices). */
export type LabelKind = 'class' | 'regression' | 'multi' | 'token' | 'choice';

/**
 * A collated batch (int32 inputs `[B, S]`, right-padded; multiple choice: `[B·num_choices, S]`, the choices of an
 * example in consecutive rows). Tensors belong to whoever collated it.
 */
export interface Batch {
  readonly inputs: ModelInputs;
  /**
   * class `[B]` int32, regression `[B]` float32, multi `[B, n]` float32, token `[B, S]` int32 (padding −100), choice
   * `[B]` int32 (index of the right choice).
   */
  readonly labels?: tf.Tensor;
  /** Number of label items that count in the loss (examples, or non-ignored tokens). */
  readonly weight: number;
  readonly numTokens: number;
}

/** The sequences of a batch, one per model row: the examples themselves, or the choices of each multiple-choice example. */
function sequencesOf(examples: readonly TrainExample[], labelKind: LabelKind): readonly ChoiceInput[] {
  if (labelKind !== 'choice') {
    return examples.map((e, i) => {
      if (isChoiceExample(e)) throw new AdapterKitError('BAD_EXAMPLE', `example ${i} is a multiple-choice example, but the labels are laid out as '${labelKind}'`);
      return e;
    });
  }
  const n = examples.map((e, i) => {
    if (!isChoiceExample(e)) throw new AdapterKitError('BAD_EXAMPLE', `example ${i}: multiple-choice batches need { choices: [...] } examples`);
    return e.choices.length;
  });
  const bad = n.findIndex((c) => c === 0 || c !== n[0]);
  if (bad >= 0) throw new AdapterKitError('BAD_EXAMPLE', `example ${bad} has ${n[bad]} choices, example 0 has ${n[0]}: every example of a batch needs the same positive number`);
  return (examples as readonly ChoiceExample[]).flatMap((e) => e.choices);
}

/**
 * Pad examples to the longest one (`padTokenId`, attention mask 0, token type 0, token labels −100) and upload them.
 * Multiple-choice examples (`labelKind` `choice`) become `num_choices` consecutive rows each. Call inside `tf.tidy` or
 * dispose the tensors.
 */
export function collate(examples: readonly TrainExample[], padTokenId: number, labelKind: LabelKind): Batch {
  const seqs = sequencesOf(examples, labelKind);
  const rows = seqs.length;
  const b = examples.length;
  const s = Math.max(...seqs.map((e) => e.inputIds.length));
  const ids = new Int32Array(rows * s).fill(padTokenId);
  const mask = new Int32Array(rows * s);
  const types = new Int32Array(rows * s);
  const hasTypes = seqs.some((e) => e.tokenTypeIds);
  let numTokens = 0;
  seqs.forEach((e, i) => {
    e.inputIds.forEach((id, j) => {
      ids[i * s + j] = id;
      mask[i * s + j] = e.attentionMask?.[j] ?? 1;
      types[i * s + j] = e.tokenTypeIds?.[j] ?? 0;
    });
    numTokens += e.inputIds.length;
  });
  const inputs: ModelInputs = {
    inputIds: tf.tensor2d(ids, [rows, s], 'int32'),
    attentionMask: tf.tensor2d(mask, [rows, s], 'int32'),
    ...(hasTypes ? { tokenTypeIds: tf.tensor2d(types, [rows, s], 'int32') } : {}),
  };
  if (examples.every((e) => e.labels === undefined)) return { inputs, weight: b, numTokens };
  const missing = examples.findIndex((e) => e.labels === undefined);
  if (missing >= 0) throw new AdapterKitError('BAD_EXAMPLE', `example ${missing} of the batch has no labels while others do`);
  const scalar = (e: TrainExample, i: number): number => {
    if (typeof e.labels !== 'number') throw new AdapterKitError('BAD_EXAMPLE', `example ${i}: expected one label (a number), got ${JSON.stringify(e.labels)}`);
    return e.labels;
  };
  switch (labelKind) {
    case 'class':
      return { inputs, labels: tf.tensor1d(examples.map(scalar), 'int32'), weight: b, numTokens };
    case 'choice': {
      const n = rows / b;
      const right = examples.map((e, i) => {
        const v = scalar(e, i);
        if (!Number.isInteger(v) || v < 0 || v >= n) throw new AdapterKitError('BAD_EXAMPLE', `example ${i}: label ${v} is not the index of one of its ${n} choices`);
        return v;
      });
      return { inputs, labels: tf.tensor1d(right, 'int32'), weight: b, numTokens };
    }
    case 'regression':
      return { inputs, labels: tf.tensor1d(examples.map(scalar), 'float32'), weight: b, numTokens };
    case 'multi': {
      const targets = examples.map((e, i) => {
        if (!Array.isArray(e.labels)) throw new AdapterKitError('BAD_EXAMPLE', `example ${i}: multi-label targets must be a 0/1 list`);
        return e.labels as number[];
      });
      return { inputs, labels: tf.tensor2d(targets, [b, targets[0]!.length], 'float32'), weight: b, numTokens };
    }
    case 'token': {
      const lbl = new Int32Array(b * s).fill(IGNORE_INDEX);
      let weight = 0;
      seqs.forEach((e, i) => {
        const l = examples[i]!.labels as readonly number[];
        if (!Array.isArray(l) || l.length !== e.inputIds.length) {
          throw new AdapterKitError('BAD_EXAMPLE', `example ${i}: token labels must be a list as long as inputIds (${e.inputIds.length})`);
        }
        l.forEach((v, j) => {
          lbl[i * s + j] = v;
          if (v !== IGNORE_INDEX && mask[i * s + j] === 1) weight++;
        });
      });
      return { inputs, labels: tf.tensor2d(lbl, [b, s], 'int32'), weight, numTokens };
    }
  }
}

/** A seeded permutation of `0..n-1` for an epoch (Fisher–Yates); the same (seed, epoch) always gives the same order. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  const rng = new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Examples of batch `index` of an epoch order. */
export function batchAt<T>(data: readonly T[], order: readonly number[], batchSize: number, index: number): T[] {
  return order.slice(index * batchSize, (index + 1) * batchSize).map((i) => data[i]!);
}
