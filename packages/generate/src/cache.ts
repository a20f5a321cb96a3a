import * as tf from '@tensorflow/tfjs-core';
import type { KeyValueCache } from '@adapterkit/core';

/**
 * The key/value cache of one generation: per layer `[batch, kvHeads, length, headDim]` keys and values (as the
 * host stores them: after RoPE, before `repeat_kv` and before adapters at `attention.kv`). Tensors are kept out
 * of `tf.tidy` scopes; replacing a layer frees the old pair. Call {@link dispose} when done.
 */
export class KVCache implements KeyValueCache {
  private readonly layers = new Map<number, { key: tf.Tensor4D; value: tf.Tensor4D }>();

  /** Positions cached (layer 0's length; every layer has the same once a forward is complete). */
  get length(): number {
    return this.layers.get(0)?.key.shape[2] ?? 0;
  }

  get(layer: number): { readonly key: tf.Tensor4D; readonly value: tf.Tensor4D } | undefined {
    return this.layers.get(layer);
  }

  set(layer: number, key: tf.Tensor4D, value: tf.Tensor4D): void {
    const old = this.layers.get(layer);
    this.layers.set(layer, { key: tf.keep(key), value: tf.keep(value) });
    if (old) tf.dispose([old.key, old.value]);
  }

  /** Bytes held (float32). */
  get bytes(): number {
    let n = 0;
    for (const { key, value } of this.layers.values()) n += (key.size + value.size) * 4;
    return n;
  }

  dispose(): void {
    for (const { key, value } of this.layers.values()) tf.dispose([key, value]);
    this.layers.clear();
  }
}
