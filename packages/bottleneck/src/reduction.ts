import { AdapterConfigError } from '@adapterkit/core';

/** A reduction factor: one number, or a per-layer map keyed by the layer id as a string plus `'default'`. */
export type ReductionFactor = number | Readonly<Record<string, number>>;

/**
 * Python's float floor division `a // b` (CPython `float_floor_div`), so bottleneck sizes match the reference
 * even where `Math.floor(a / b)` rounds differently (e.g. `768 // 0.1` is 7679 in Python, 7680 in JS).
 */
export function pyFloorDiv(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  if (div === 0) return 0;
  const floor = Math.floor(div);
  return div - floor > 0.5 ? floor + 1 : floor;
}

/**
 * The reduction factor of `layer`: the map entry for the layer (string key), else `'default'`. The reference
 * raises when a layer has neither; so does this (AdapterConfigError naming the layer).
 */
export function reductionFactorAt(rf: ReductionFactor, layer: number): number {
  if (typeof rf === 'number') return rf;
  const value = rf[String(layer)] ?? rf['default'];
  if (value === undefined) {
    throw new AdapterConfigError(
      'BAD_FIELD_VALUE',
      `reduction_factor ${JSON.stringify(rf)} gives no value for layer ${layer}: add the layer or a 'default' entry, e.g. {'1': 16, 'default': 16}`,
    );
  }
  return value;
}

/** Bottleneck width at `layer`: `max(1, int(hidden // rf))`, as the reference (rf < 1 widens). */
export function bottleneckSize(hidden: number, rf: ReductionFactor, layer: number): number {
  return Math.max(1, pyFloorDiv(hidden, reductionFactorAt(rf, layer)));
}
