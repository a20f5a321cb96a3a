import { AdapterKitError, Rng } from '@adapterkit/core';
import { epochSeed, shuffleInPlace } from './shuffle';

/** Options of {@link batches}. */
export interface BatchOptions {
  readonly batchSize: number;
  /** Shuffle (seeded, per epoch) before batching; default false. */
  readonly shuffle?: boolean;
  /** Default 42. */
  readonly seed?: number;
  /** Epoch number: with `shuffle`, each epoch has its own order (the trainer's `epochOrder`); default 0. */
  readonly epoch?: number;
  /** Drop the last batch if it is smaller than `batchSize`; default false. */
  readonly dropLast?: boolean;
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new AdapterKitError('BAD_OPTION', `batchSize must be a positive integer, got ${batchSize}`);
}

/**
 * Groups examples into batches (arrays), optionally in a seeded shuffled order. Pair with a collator for
 * padding to the longest example of each batch:
 *
 * ```ts
 * for (const examples of batches(train, { batchSize: 16, shuffle: true, epoch })) {
 *   const batch = collate(examples);   // classificationCollator(tokenizer, { labelMap })
 * }
 * ```
 */
export function* batches<T>(dataset: Iterable<T>, options: BatchOptions): Generator<T[]> {
  checkBatchSize(options.batchSize);
  const items = [...dataset];
  if (options.shuffle) shuffleInPlace(items, new Rng(epochSeed(options.seed ?? 42, options.epoch ?? 0)));
  for (let i = 0; i < items.length; i += options.batchSize) {
    const b = items.slice(i, i + options.batchSize);
    if (b.length < options.batchSize && options.dropLast) break;
    yield b;
  }
}

/**
 * Groups a stream (e.g. `streamJsonl`) into batches without loading it (no shuffling: shuffle in memory with
 * {@link batches} when the data fits).
 */
export async function* streamBatches<T>(stream: AsyncIterable<T>, options: Pick<BatchOptions, 'batchSize' | 'dropLast'>): AsyncGenerator<T[]> {
  checkBatchSize(options.batchSize);
  let b: T[] = [];
  for await (const x of stream) {
    b.push(x);
    if (b.length === options.batchSize) {
      yield b;
      b = [];
    }
  }
  if (b.length > 0 && !options.dropLast) yield b;
}
