import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, tensorEntryToTf, type ModelInputs } from '@adapterkit/core';

/** One case of a golden folder's index.json. */
export interface GoldenCase {
  readonly model: string;
  readonly case: string;
  readonly kind: 'base' | 'single_adapter' | 'composition' | 'train_step' | string;
  readonly status: 'ok' | 'error' | string;
  readonly path: string;
  readonly outputs?: Record<string, number[]>;
  readonly error?: string;
  readonly trainable_params?: number;
}

/** The golden index (see fixtures/golden/README.md). */
export interface GoldenIndex {
  readonly cases: GoldenCase[];
  readonly tolerance: { outputs: { atol: number }; grads: { atol: number; rtol: number } };
}

/** Read `index.json` of a golden folder. */
export function readGoldenIndex(goldenDir: string): GoldenIndex {
  return JSON.parse(readFileSync(join(goldenDir, 'index.json'), 'utf8')) as GoldenIndex;
}

/** A case's meta.json. */
export function readMeta(goldenDir: string, c: GoldenCase): Record<string, unknown> {
  return JSON.parse(readFileSync(join(goldenDir, c.path, 'meta.json'), 'utf8')) as Record<string, unknown>;
}

/** The fixed input batch of a model as int32 tensors. */
export function goldenInputs(goldenDir: string, model: string): ModelInputs {
  const all = JSON.parse(readFileSync(join(goldenDir, 'inputs.json'), 'utf8')) as Record<string, Record<string, number[][]>>;
  const m = all[model];
  if (!m) throw new Error(`inputs.json has no inputs for '${model}'`);
  const t = (x: number[][] | undefined): tf.Tensor2D | undefined => (x ? tf.tensor2d(x, [x.length, x[0]!.length], 'int32') : undefined);
  return {
    inputIds: t(m['input_ids'])!,
    ...(m['attention_mask'] ? { attentionMask: t(m['attention_mask'])! } : {}),
    ...(m['token_type_ids'] ? { tokenTypeIds: t(m['token_type_ids'])! } : {}),
  };
}
/** Read a safetensors file of a case as tf tensors. */
export async function readTensors(path: string): Promise<Map<string, tf.Tensor>> {
  const { tensors } = await readSafetensors(path);
  return new Map([...tensors].map(([k, e]) => [k, tensorEntryToTf(e)]));
}

/** Match `model/case` against comma-separated globs (`*` = any run of characters). */
export function caseMatches(id: string, globs: string | undefined): boolean {
  if (!globs) return true;
  return globs.split(',').some((g) => {
    const re = new RegExp(`^${g.trim().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(id);
  });
}
