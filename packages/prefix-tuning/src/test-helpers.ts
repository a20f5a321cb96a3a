/** Helpers for this package's tests (not exported from the package). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, readSafetensors, tensorEntryToTf, type ModelInputs, type ModelOutputs } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { plugins } from './index';

/** The golden fixtures of the repo. */
export const GOLDEN = fileURLToPath(new URL('../../../fixtures/golden', import.meta.url));

/** Folder of a golden case, e.g. `bert/prefix_tuning`. */
export const caseDir = (id: string): string => join(GOLDEN, 'cases', id);

/** A golden base model with this package's methods installed. */
export async function goldenModel(model: 'bert' | 'gpt2'): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(join(GOLDEN, 'models', model)), { methods: [...plugins], warn: () => undefined });
}

/** The golden input batch of a model (int32 `[2, 12]`), optionally only the given rows. */
export function goldenInputs(model: 'bert' | 'gpt2', rows?: number[]): ModelInputs {
  const all = JSON.parse(readFileSync(join(GOLDEN, 'inputs.json'), 'utf8')) as Record<string, Record<string, number[][]>>;
  const m = all[model]!;
  const t = (x: number[][] | undefined): tf.Tensor2D | undefined => {
    if (!x) return undefined;
    const picked = rows ? rows.map((r) => x[r]!) : x;
    return tf.tensor2d(picked, [picked.length, picked[0]!.length], 'int32');
  };
  return {
    inputIds: t(m['input_ids'])!,
    ...(m['attention_mask'] ? { attentionMask: t(m['attention_mask'])! } : {}),
    ...(m['token_type_ids'] ? { tokenTypeIds: t(m['token_type_ids'])! } : {}),
  };
}

/** Read every tensor of a safetensors file. */
export async function readTensors(path: string): Promise<Map<string, tf.Tensor>> {
  const { tensors } = await readSafetensors(path);
  return new Map([...tensors].map(([k, e]) => [k, tensorEntryToTf(e)]));
}

/** Golden output names → our output fields. */
export const OUTPUT_FIELDS: Record<string, keyof ModelOutputs> = {
  last_hidden_state: 'lastHiddenState',
  pooler_output: 'poolerOutput',
  logits: 'logits',
};

/** Largest |a − b| (shapes must match). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/**
 * Worst difference between our outputs and the golden `output.safetensors` of a case: the plain outputs, or those
 * named `<output><suffix>` (e.g. `_ejected`).
 */
export function compareWithGolden(ref: Map<string, tf.Tensor>, out: ModelOutputs, suffix = ''): number {
  let worst = 0;
  let compared = 0;
  for (const [name, t] of ref) {
    const base = suffix ? (name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined) : name.endsWith('_ejected') ? undefined : name;
    if (base === undefined) continue;
    const ours = out[OUTPUT_FIELDS[base]!] as tf.Tensor | undefined;
    if (!ours) throw new Error(`no output '${base}'`);
    worst = Math.max(worst, maxAbsDiff(ours, t));
    compared++;
  }
  if (compared === 0) throw new Error(`no golden outputs with suffix '${suffix}'`);
  return worst;
}

/** Dispose every tensor of an outputs/inputs object. */
export function disposeAll(o: object): void {
  tf.dispose(Object.values(o).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}
