/**
 * Helpers shared by this package's tests (golden fixtures, a recording hook runner). Not exported from the index.
 * @internal
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  readSafetensors,
  tensorEntryToTf,
  type HookPoint,
  type HookRunner,
  type HostForwardOptions,
  type ModelInputs,
  type ModelOutputs,
  type TransformerHost,
} from './core';

export type GoldenModel = 'bert' | 'roberta' | 'gpt2';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));

export function modelDir(m: GoldenModel): string {
  return fileURLToPath(new URL(`../../../fixtures/golden/models/${m}`, import.meta.url));
}

interface InputsJson {
  [model: string]: { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][] } | unknown;
}

/** The fixed batch of inputs.json as int32 tensors (caller disposes). */
export async function goldenInputs(m: GoldenModel): Promise<ModelInputs> {
  const json = JSON.parse(
    await readFile(fileURLToPath(new URL('../../../fixtures/golden/inputs.json', import.meta.url)), 'utf8'),
  ) as InputsJson;
  const e = json[m] as { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][] };
  const t = (a: number[][]): tf.Tensor2D => tf.tensor2d(a, undefined, 'int32');
  return {
    inputIds: t(e.input_ids),
    attentionMask: t(e.attention_mask),
    ...(e.token_type_ids ? { tokenTypeIds: t(e.token_type_ids) } : {}),
  };
}

/** Reference outputs of a case (caller disposes). */
export async function goldenOutputs(m: GoldenModel, kase = 'base'): Promise<Map<string, tf.Tensor>> {
  const path = fileURLToPath(new URL(`../../../fixtures/golden/cases/${m}/${kase}/output.safetensors`, import.meta.url));
  const { tensors } = await readSafetensors(path);
  return new Map([...tensors].map(([k, e]) => [k, tensorEntryToTf(e)]));
}

/** All tensors of a safetensors file (caller disposes). */
export async function readTensors(path: string): Promise<Map<string, tf.Tensor>> {
  const { tensors } = await readSafetensors(path);
  return new Map([...tensors].map(([k, e]) => [k, tensorEntryToTf(e)]));
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

export function disposeInputs(i: ModelInputs): void {
  for (const t of [i.inputIds, i.attentionMask, i.tokenTypeIds, i.positionIds]) t?.dispose();
}

/** A HookRunner that records every (point, layer) it sees and runs the terminal. */
export class RecordingRunner implements HookRunner {
  readonly calls: Array<{ point: HookPoint; layer: number; site?: string }> = [];
  run: HookRunner['run'] = (point, layer, payload, terminal) => {
    const site = (payload as { site?: unknown }).site;
    this.calls.push({ point, layer, ...(typeof site === 'string' ? { site } : {}) });
    return terminal(payload);
  };
}

/** `host.forward` inside `tf.tidy` (ModelOutputs is not typed as a TensorContainer, hence the casts). */
export function tidyForward(host: TransformerHost, inputs: ModelInputs, hooks: HookRunner, options: HostForwardOptions): ModelOutputs {
  return tf.tidy(() => host.forward(inputs, hooks, options) as unknown as tf.TensorContainer) as unknown as ModelOutputs;
}

/** Dispose every tensor of a ModelOutputs. */
export function disposeOutputs(o: ModelOutputs): void {
  tf.dispose([o.lastHiddenState, o.poolerOutput, o.logits].filter((t): t is NonNullable<typeof t> => t !== undefined));
}
