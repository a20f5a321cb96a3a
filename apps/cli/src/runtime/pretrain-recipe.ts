/**
 * The masked-LM pre-training recipe of `adapterkit pretrain` (the recipe of the embedded model
 * `packages/bert-mini/model`): the held-out split, the packing of the text into sequences, BERT's masking, the loss
 * on the masked positions and the schedule. Everything is seeded: the same corpus, flags and backend give the same
 * bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@adapterkit/core';
import { maskingReplacementIds, maskTokens, permutation, type Tokenizer } from '@adapterkit/data';
import { crossEntropy, getHeads, type Batch, type Example, type LossFn } from '@adapterkit/training';
import { CliError } from '../cli/errors';

/** Name of the masked-LM head on the model being pre-trained. */
export const MLM_HEAD = 'mlm';
/** Share of the corpus passages held out (never seen by the tokenizer or the model). */
export const HELD_OUT_FRACTION = 0.05;
/** Seed of the held-out split: fixed, so that every phase (and every `--seed`) is measured on the same passages. */
export const SPLIT_SEED = 42;
/** Seed of the held-out masks: fixed, so that every phase is measured on the same masked tokens. */
export const EVAL_MASK_SEED = 49;
/** Share of the tokens selected for prediction (BERT's 15 %; of those 80 % `[MASK]`, 10 % random, 10 % kept). */
export const MLM_PROBABILITY = 0.15;
/** Share of the steps spent warming the learning rate up (then linear decay to 0). */
export const WARMUP_FRACTION = 0.06;
/** AdamW's decoupled weight decay (not on biases and LayerNorm). */
export const WEIGHT_DECAY = 0.01;
/** Optimizer steps between two checkpoints (with `--checkpoint-dir`). */
export const CHECKPOINT_EVERY = 50;

/** The two parts of a corpus, each in corpus order. */
export interface HeldOutSplit {
  readonly train: readonly string[];
  readonly held: readonly string[];
}

/**
 * Hold out {@link HELD_OUT_FRACTION} of the passages (at least one), chosen by a permutation seeded with
 * {@link SPLIT_SEED}; both parts keep the corpus order.
 */
export function splitHeldOut(texts: readonly string[]): HeldOutSplit {
  const order = permutation(texts.length, SPLIT_SEED);
  const nHeld = Math.max(1, Math.round(texts.length * HELD_OUT_FRACTION));
  const pick = (idx: number[]): string[] => idx.sort((a, b) => a - b).map((i) => texts[i]!);
  return { held: pick(order.slice(0, nHeld)), train: pick(order.slice(nHeld)) };
}

/**
 * Tokenize texts (no special tokens), concatenate them and cut the stream into `[CLS] … [SEP]` sequences of
 * `maxLength` tokens (the last one shorter), as transformers' `run_mlm.py` groups texts.
 */
export function packSequences(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): number[][] {
  const cls = tokenizer.clsTokenId;
  const sep = tokenizer.sepTokenId;
  if (cls === undefined || sep === undefined) throw new CliError('pre-training needs a tokenizer with [CLS] and [SEP] tokens');
  const body = maxLength - 2;
  const out: number[][] = [];
  let cur: number[] = [];
  for (const t of texts) {
    for (const id of tokenizer.encode(t, null, { addSpecialTokens: false }).ids) {
      cur.push(id);
      if (cur.length === body) {
        out.push([cls, ...cur, sep]);
        cur = [];
      }
    }
  }
  if (cur.length > 0) out.push([cls, ...cur, sep]);
  return out;
}

/**
 * How many differently masked copies of the training sequences the steps need: one per pass over the data
 * (`max(1, ceil(steps × batchSize / sequences))`), so every pass sees new masks.
 */
export function maskingCopies(steps: number, batchSize: number, sequences: number): number {
  return Math.max(1, Math.ceil((steps * batchSize) / sequences));
}

/**
 * `copies` masked versions of the sequences (copy `k` masked with seed `seed + 1000 k`) with BERT's 80/10/10 rule
 * on {@link MLM_PROBABILITY} of the tokens; random replacements are drawn from {@link maskingReplacementIds}. The examples
 * carry no token type ids; labels are the original ids where masked, −100 elsewhere.
 */
export function maskedSequences(tokenizer: Tokenizer, sequences: readonly number[][], copies: number, seed: number): Example[] {
  const maskTokenId = tokenizer.maskTokenId;
  if (maskTokenId === undefined) throw new CliError('pre-training needs a tokenizer with a [MASK] token');
  const randomIds = maskingReplacementIds(tokenizer);
  const special = sequences.map((s) => s.map((id) => (tokenizer.specialIds.has(id) ? 1 : 0)));
  const out: Example[] = [];
  for (let k = 0; k < copies; k++) {
    const m = maskTokens(sequences, special, { maskTokenId, randomIds, probability: MLM_PROBABILITY, rng: new Rng(seed + 1000 * k) });
    m.inputIds.forEach((ids, i) => out.push({ inputIds: ids, labels: m.labels[i]! }));
  }
  return out;
}

/** Number of masked tokens (labels ≠ −100) of token-labelled examples. */
export function countMasked(examples: readonly Example[]): number {
  return examples.reduce((n, e) => n + (e.labels as number[]).filter((l) => l !== -100).length, 0);
}

/**
 * MLM loss on the masked positions only: the encoder runs on `[B, S]`, the hidden states of the M positions with a
 * label (≠ −100) are gathered to `[1, M, H]`, and the head {@link MLM_HEAD} (transform + tied vocabulary projection)
 * and the mean cross-entropy run on those — the same value as the head's loss over every position with −100 labels
 * elsewhere, at a fraction of the cost. A batch without any masked token gives a loss of 0 (weight 0 in the
 * evaluation) instead of 0/0.
 */
export const maskedPositionsLoss: LossFn = (model, batch: Batch, { training }) => {
  const head = getHeads(model).require(MLM_HEAD);
  const labels = batch.labels!.dataSync();
  const positions: number[] = [];
  const targets: number[] = [];
  labels.forEach((l, i) => {
    if (l !== -100) {
      positions.push(i);
      targets.push(l);
    }
  });
  const hidden = model.forward(batch.inputs, { training }).lastHiddenState;
  if (positions.length === 0) return tf.mul(tf.mean(hidden), 0) as tf.Scalar;
  const h = hidden.shape[2];
  const picked = tf.gather(tf.reshape(hidden, [-1, h]), tf.tensor1d(positions, 'int32'));
  const logits = head.forward({ lastHiddenState: tf.reshape(picked, [1, positions.length, h]) as tf.Tensor3D }, { training });
  return crossEntropy(tf.reshape(logits, [positions.length, -1]) as tf.Tensor2D, tf.tensor1d(targets, 'int32'));
};

/** Warm-up steps of a run: {@link WARMUP_FRACTION} of its steps, rounded. */
export function warmupStepsFor(steps: number): number {
  return Math.round(WARMUP_FRACTION * steps);
}

/** Steps between two held-out evaluations: four per run (`max(1, round(steps / 4))`). */
export function evalEveryFor(steps: number): number {
  return Math.max(1, Math.round(steps / 4));
}
