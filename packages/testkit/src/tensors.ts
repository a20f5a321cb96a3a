import * as tf from '@tensorflow/tfjs-core';

/** Largest absolute elementwise difference of two same-shape tensors (throws on shape mismatch). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  return tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(a, 'float32'), tf.cast(b, 'float32')))).dataSync()[0]!);
}

/**
 * {@link maxAbsDiff} read asynchronously (`await data()`), for GPU backends (webgpu, webgl), which cannot read
 * tensors synchronously in Node.
 */
export async function maxAbsDiffAsync(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const m = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(a, 'float32'), tf.cast(b, 'float32')))));
  try {
    return (await m.data())[0]!;
  } finally {
    m.dispose();
  }
}

/** `|a-b| <= atol + rtol*|b|` elementwise; returns the worst violation ratio (≤ 1 means close). */
export function closeness(a: tf.Tensor, b: tf.Tensor, atol: number, rtol: number): number {
  return tf.tidy(() => {
    const excess = tf.div(tf.abs(tf.sub(a, b)), tf.add(atol, tf.mul(rtol, tf.abs(b))));
    return tf.max(excess).dataSync()[0]!;
  });
}
/** All tensors inside a value (objects, arrays). */
export function collectTensors(value: unknown): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof tf.Tensor) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return out;
}
