/**
 * How a batch is split across workers and how their results are combined. Pure functions, no tensors.
 */

/**
 * Split `n` examples into at most `workers` contiguous shards whose sizes differ by at most one (the first
 * `n mod workers` shards get one more). Shards are `[start, end)` ranges in batch order; a batch smaller than the
 * worker count gives one single-example shard per example (no empty shard is sent to a worker).
 */
export function shardRanges(n: number, workers: number): Array<readonly [number, number]> {
  const count = Math.min(n, workers);
  const out: Array<readonly [number, number]> = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(n / count) + (i < n % count ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

/**
 * Combine per-shard means into the mean over the whole batch: `Σ wᵢ·xᵢ / Σ wᵢ`, where `wᵢ` is the number of label
 * items shard i's mean was taken over (examples, or labelled tokens for tagging / LM heads). The unweighted mean of
 * the shard means equals the full-batch mean only when every shard has the same weight.
 *
 * @param shards `[values, weight]` per shard, every `values` of the same length (a loss: length 1; a flattened
 *   gradient: its number of elements); shards of weight 0 contribute nothing.
 * @param out where to write the result (length of the values), also returned. All zeros when the weights sum to 0.
 */
export function weightedMean(shards: ReadonlyArray<readonly [ArrayLike<number>, number]>, out: Float32Array): Float32Array {
  const total = shards.reduce((s, [, w]) => s + w, 0);
  out.fill(0);
  if (total <= 0) return out;
  // accumulate in float64 per element, in shard order (deterministic), then round once
  const acc = new Float64Array(out.length);
  for (const [values, w] of shards) {
    if (w === 0) continue;
    if (values.length !== out.length) throw new RangeError(`weightedMean: shard of length ${values.length}, expected ${out.length}`);
    const f = w / total;
    for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + f * values[i]!;
  }
  out.set(acc);
  return out;
}
