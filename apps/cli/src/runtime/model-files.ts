import * as tf from '@tensorflow/tfjs-core';
import { serializeSafetensors, toPythonJson, writeFilesAtomic, type SerializableTensor } from '@adapterkit/core';

/**
 * Serialise named tensors (file layout) as safetensors bytes with `{"format": "pt"}` metadata, as transformers'
 * `save_pretrained` writes `model.safetensors`. Disposes the tensors.
 */
export async function tensorsToSafetensors(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Uint8Array> {
  const out: Record<string, SerializableTensor> = {};
  try {
    for (const [key, t] of tensors) out[key] = { shape: [...t.shape], data: (await t.data()) as Float32Array };
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return serializeSafetensors(out);
}

/**
 * Write a Hugging Face model folder: `config.json` (sorted, indented, as `save_pretrained` writes it) and
 * `model.safetensors` from file-layout tensors (disposed), plus any `extra` files. Atomic.
 */
export async function writeModelDir(
  dir: string,
  config: Readonly<Record<string, unknown>>,
  weights: ReadonlyMap<string, tf.Tensor>,
  extra: Record<string, string | Uint8Array> = {},
): Promise<void> {
  const bytes = await tensorsToSafetensors(weights);
  await writeFilesAtomic(dir, { 'config.json': `${toPythonJson(config, { indent: 2, sortKeys: true })}\n`, 'model.safetensors': bytes, ...extra });
}
