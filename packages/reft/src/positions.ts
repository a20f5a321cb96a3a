import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, type ForwardInfo } from '@adapterkit/core';

/** Edited positions of one forward: per batch row, the prefix and suffix indices. */
export interface ReftPositions {
  /** `[batch][prefixPositions]` */
  readonly prefix: readonly (readonly number[])[];
  /** `[batch][suffixPositions]` */
  readonly suffix: readonly (readonly number[])[];
}

/**
 * The positions the reference edits, from the attention mask (`adapters` 1.1 `ReftModule._gather_adapted_states`):
 * `offset = argmax(mask)` (the first non-padding position), `seqlen = mask.sum()`; prefix `offset + [0..P)`, suffix
 * `offset + seqlen + [−S..0)`. Without a mask every row is `seqLength` long. Computed once per forward and used by
 * every layer.
 */
export function reftPositions(info: ForwardInfo, prefix: number, suffix: number): ReftPositions {
  const B = info.batchSize;
  const S = info.seqLength;
  const offsets: number[] = new Array<number>(B).fill(0);
  const lengths: number[] = new Array<number>(B).fill(S);
  if (info.attentionMask) {
    const [mb, ms] = info.attentionMask.shape;
    const m = info.attentionMask.dataSync();
    for (let b = 0; b < mb; b++) {
      let best = 0;
      let sum = 0;
      for (let s = 0; s < ms; s++) {
        const v = m[b * ms + s]!;
        sum += v;
        if (v > m[b * ms + best]!) best = s;
      }
      offsets[b] = best;
      lengths[b] = sum;
    }
  }
  const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);
  return {
    prefix: offsets.map((o) => range(o, prefix)),
    suffix: offsets.map((o, b) => range(o + lengths[b]! - suffix, suffix)),
  };
}

/**
 * One-hot selectors `[rows, n, seq]` for per-row positions (rows repeated when the hidden batch is a multiple of
 * the mask batch, as in Parallel setups). Throws when a position falls outside `[0, seq)`.
 */
export function selector(positions: readonly (readonly number[])[], rows: number, seq: number, what: string): tf.Tensor3D {
  if (rows % positions.length !== 0) {
    throw new AdapterKitError('REFT_POSITIONS', `ReFT: hidden-state batch ${rows} is not a multiple of the attention-mask batch ${positions.length}`);
  }
  const idx: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = positions[r % positions.length]!;
    for (const p of row) {
      if (p < 0 || p >= seq) {
        throw new AdapterKitError('REFT_POSITIONS', `ReFT: ${what} position ${p} of batch row ${r % positions.length} is outside the sequence [0, ${seq}) (the row has fewer non-padding tokens than the edited positions)`);
      }
    }
    idx.push([...row]);
  }
  const n = positions[0]!.length;
  return tf.cast(tf.oneHot(tf.tensor2d(idx.flat(), [rows, n], 'int32'), seq), 'float32') as tf.Tensor3D;
}
