import { AdapterKitError, Rng } from '@adapterkit/core';
import { shuffleInPlace } from './shuffle';

/** An immutable, indexable list of examples with functional helpers (each returns a new dataset). */
export class InMemoryDataset<T> implements Iterable<T> {
  private readonly items: readonly T[];

  /** Wraps `items` (copied, so later changes to the array do not leak in). */
  constructor(items: Iterable<T>) {
    this.items = [...items];
  }

  /** Collects an async stream (e.g. `streamJsonl`) into memory. */
  static async fromAsync<T>(stream: AsyncIterable<T>): Promise<InMemoryDataset<T>> {
    const out: T[] = [];
    for await (const x of stream) out.push(x);
    return new InMemoryDataset(out);
  }

  /** Number of examples. */
  get length(): number {
    return this.items.length;
  }

  /** Example `index` (negative counts from the end); throws when out of range. */
  at(index: number): T {
    const i = index < 0 ? this.items.length + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.items.length) {
      throw new AdapterKitError('INDEX_OUT_OF_RANGE', `index ${index} is out of range for a dataset of ${this.items.length} examples`);
    }
    return this.items[i]!;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }

  map<U>(f: (x: T, index: number) => U): InMemoryDataset<U> {
    return new InMemoryDataset(this.items.map(f));
  }

  filter(f: (x: T, index: number) => boolean): InMemoryDataset<T> {
    return new InMemoryDataset(this.items.filter(f));
  }

  /** The examples at `indices`, in that order. */
  select(indices: Iterable<number>): InMemoryDataset<T> {
    return new InMemoryDataset(Array.from(indices, (i) => this.at(i)));
  }

  slice(start?: number, end?: number): InMemoryDataset<T> {
    return new InMemoryDataset(this.items.slice(start, end));
  }

  /** A seeded shuffle (the same seed always gives the same order). */
  shuffle(seed: number): InMemoryDataset<T> {
    return new InMemoryDataset(shuffleInPlace([...this.items], new Rng(seed)));
  }

  /** A copy of the examples as an array. */
  toArray(): T[] {
    return [...this.items];
  }
}
