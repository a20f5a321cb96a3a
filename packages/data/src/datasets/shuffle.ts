import { Rng } from '@adapterkit/core';

/** Shuffles `items` in place with Fisher–Yates driven by `rng` (core's seeded mulberry32) and returns it. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A seeded permutation of `0..n-1`. */
export function permutation(n: number, seed: number): number[] {
  return shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    new Rng(seed),
  );
}

/**
 * The seed of epoch `epoch` under run seed `seed` — the same mix `@adapterkit/training`'s `epochOrder` uses, so
 * `batches(ds, { shuffle: true, seed, epoch })` visits examples in the trainer's order.
 */
export function epochSeed(seed: number, epoch: number): number {
  return (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
}
