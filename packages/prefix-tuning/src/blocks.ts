import * as tf from '@tensorflow/tfjs-core';
import { blockRowSizes, MASK_NEGATIVE, type BlockCompiler, type BlockImplementations, type KeyValuePayload } from '@adapterkit/core';

/** Rows `[start, start + size)` of every tensor of an `attention.kv` payload (the mask is tiled to the batch first). */
function rows(p: KeyValuePayload, start: number, size: number): KeyValuePayload {
  const batch = p.key.shape[0];
  const mask = p.mask.shape[0] === batch ? p.mask : (tf.tile(p.mask, [batch / p.mask.shape[0], 1, 1, 1]) as tf.Tensor4D);
  const r4 = (t: tf.Tensor4D): tf.Tensor4D => tf.slice(t, [start, 0, 0, 0], [size, -1, -1, -1]);
  return {
    key: r4(p.key),
    value: r4(p.value),
    mask: r4(mask),
    ...(p.input ? { input: tf.slice(p.input, [start, 0, 0], [size, -1, -1]) } : {}),
  };
}

/**
 * Concatenate the children's payloads along the batch. Children may have prepended prefixes of different lengths:
 * shorter keys/values are padded at the front with zeros up to the longest, and the padded positions are masked
 * (`MASK_NEGATIVE`), as `adapters`' `pad_and_concat`.
 */
function padAndConcat(parts: readonly KeyValuePayload[], whole: KeyValuePayload): KeyValuePayload {
  const len = Math.max(...parts.map((p) => p.key.shape[2]));
  const padded = parts.map((p) => {
    const pad = len - p.key.shape[2];
    if (pad === 0) return p;
    const front = (t: tf.Tensor4D): tf.Tensor4D => tf.pad(t, [[0, 0], [0, 0], [pad, 0], [0, 0]]);
    const maskPad = tf.fill([p.mask.shape[0], p.mask.shape[1], p.mask.shape[2], pad], MASK_NEGATIVE) as tf.Tensor4D;
    return { ...p, key: front(p.key), value: front(p.value), mask: tf.concat([maskPad, p.mask], 3) as tf.Tensor4D };
  });
  const cat = (pick: (p: KeyValuePayload) => tf.Tensor4D): tf.Tensor4D => (padded.length === 1 ? pick(padded[0]!) : (tf.concat(padded.map(pick), 0) as tf.Tensor4D));
  return { ...whole, key: cat((p) => p.key), value: cat((p) => p.value), mask: cat((p) => p.mask) };
}

/**
 * BatchSplit and Parallel route consecutive batch rows to the children (core's `blockRowSizes`): every child's
 * chain runs on its rows of keys, values, mask and attention input — so each slice gets its child's prefixes — and the results
 * are padded to a common key length and concatenated.
 */
const routeRows: BlockCompiler<'attention.kv'> = (args) => (payload, next) => {
  const sz = blockRowSizes(args.block, payload.key.shape[0], { point: 'attention.kv', layer: args.layer });
  let start = 0;
  const parts: KeyValuePayload[] = [];
  args.children.forEach((child, i) => {
    const size = sz[i]!;
    if (size === 0) return;
    const sub = rows(payload, start, size);
    start += size;
    parts.push(child.step ? child.step(sub, (p) => p) : sub);
  });
  return next(padAndConcat(parts, payload));
};

/**
 * Composition blocks of prefix tuning (the reference supports BatchSplit and Parallel, not Fuse/Split/Average): each
 * batch slice attends over its own child's prefixes; slices whose prefixes are shorter are front-padded with masked
 * positions, so every slice computes exactly what its child alone would.
 */
export const PREFIX_BLOCKS: BlockImplementations = {
  BatchSplit: { 'attention.kv': routeRows },
  Parallel: { 'attention.kv': routeRows },
};
