import { AdapterKitError, Rng } from '@adapterkit/core';
import { InMemoryDataset } from './in-memory';
import { shuffleInPlace } from './shuffle';

/** Options of {@link splitDataset}. */
export interface SplitOptions<T> {
  /** Fractions of the examples per split; default 0.8/0.1/0.1. When any is given, the missing ones are 0. They must sum to 1. */
  readonly train?: number;
  readonly dev?: number;
  readonly test?: number;
  /** Seed of the shuffle, default 42. */
  readonly seed?: number;
  /** Split each class separately so every split keeps the class proportions (e.g. `(x) => x.label`). */
  readonly stratify?: (example: T) => string | number | undefined;
}

/** The three splits. */
export interface Splits<T> {
  readonly train: InMemoryDataset<T>;
  readonly dev: InMemoryDataset<T>;
  readonly test: InMemoryDataset<T>;
}

function fractions<T>(o: SplitOptions<T>): [number, number, number] {
  const any = o.train !== undefined || o.dev !== undefined || o.test !== undefined;
  const f: [number, number, number] = any ? [o.train ?? 0, o.dev ?? 0, o.test ?? 0] : [0.8, 0.1, 0.1];
  if (f.some((x) => !(x >= 0 && x <= 1)) || Math.abs(f[0] + f[1] + f[2] - 1) > 1e-9) {
    throw new AdapterKitError('BAD_OPTION', `split fractions must be in [0, 1] and sum to 1, got train ${f[0]}, dev ${f[1]}, test ${f[2]}`);
  }
  return f;
}

/**
 * Splits a dataset into train/dev/test with a seeded shuffle: the same data and seed always give the same splits.
 * Sizes: dev = round(n·dev), test = round(n·test), train = the rest (per class when stratified). Within each split
 * the order is shuffled too.
 */
export function splitDataset<T>(dataset: Iterable<T>, options: SplitOptions<T> = {}): Splits<T> {
  const [, fDev, fTest] = fractions(options);
  const items = [...dataset];
  const rng = new Rng(options.seed ?? 42);
  const groups = new Map<string, number[]>();
  items.forEach((x, i) => {
    const key = options.stratify ? String(options.stratify(x)) : '';
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(i);
  });
  const parts: [number[], number[], number[]] = [[], [], []];
  for (const key of [...groups.keys()].sort()) {
    const idx = shuffleInPlace(groups.get(key)!, rng);
    const nDev = Math.round(idx.length * fDev);
    const nTest = Math.round(idx.length * fTest);
    const nTrain = idx.length - nDev - nTest;
    parts[0].push(...idx.slice(0, nTrain));
    parts[1].push(...idx.slice(nTrain, nTrain + nDev));
    parts[2].push(...idx.slice(nTrain + nDev));
  }
  const make = (idx: number[]): InMemoryDataset<T> =>
    new InMemoryDataset((groups.size > 1 ? shuffleInPlace(idx, rng) : idx).map((i) => items[i]!));
  return { train: make(parts[0]), dev: make(parts[1]), test: make(parts[2]) };
}
