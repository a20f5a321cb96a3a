/** Shared helpers of this package's tests (golden fixtures, model construction). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, init, Rng, type ModelInputs, type ModelOutputs } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff, readTensors } from '@adapterkit/testkit';
import { plugins } from './index';

/** The golden fixtures copied into the repo. */
export const GOLDEN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden');

export type GoldenModel = 'bert' | 'roberta' | 'gpt2';

/** A golden case directory. */
export const caseDir = (model: GoldenModel, c: string): string => join(GOLDEN, 'cases', model, c);

/** A case's meta.json. */
export function readMeta(model: GoldenModel, c: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(caseDir(model, c), 'meta.json'), 'utf8')) as Record<string, unknown>;
}

/** The golden tiny model with this package installed; warnings are collected into `warnings`. */
export async function buildModel(model: GoldenModel, warnings: string[] = []): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(join(GOLDEN, 'models', model)), { methods: [...plugins], warn: (m) => warnings.push(m) });
}

/** The golden input batch of a model. */
export const inputsFor = (model: GoldenModel): ModelInputs => goldenInputs(GOLDEN, model);

/** Forward with LM logits on GPT-2. */
export function run(model: AdapterModel, inputs: ModelInputs, options: { training?: boolean } = {}): ModelOutputs {
  return model.forward(inputs, { lmLogits: model.info.modelType === 'gpt2', training: options.training ?? false });
}

/** Largest |a − b| over every output both have. */
export function outputsDiff(a: ModelOutputs, b: ModelOutputs): number {
  let worst = 0;
  for (const k of ['lastHiddenState', 'poolerOutput', 'logits'] as const) {
    const x = a[k];
    const y = b[k];
    if (x && y) worst = Math.max(worst, maxAbsDiff(x, y));
  }
  return worst;
}

const OUTPUT_NAMES = { last_hidden_state: 'lastHiddenState', pooler_output: 'poolerOutput', logits: 'logits' } as const;

/** Largest |ours − reference| over the case's output.safetensors. */
export async function goldenDiff(model: GoldenModel, c: string, out: ModelOutputs): Promise<number> {
  const ref = await readTensors(join(caseDir(model, c), 'output.safetensors'));
  try {
    let worst = 0;
    for (const [name, t] of ref) {
      const ours = out[OUTPUT_NAMES[name as keyof typeof OUTPUT_NAMES]];
      if (!ours) throw new Error(`no output for '${name}'`);
      worst = Math.max(worst, maxAbsDiff(ours, t));
    }
    return worst;
  } finally {
    tf.dispose([...ref.values()]);
  }
}

/** Dispose every tensor of a model output or input batch. */
export function disposeAll(o: object): void {
  tf.dispose(Object.values(o).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

/** Values of every base parameter (copies), for bit-exact comparisons. */
export function snapshot(model: AdapterModel): Map<string, Float32Array> {
  return new Map([...model.host.parameters].map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]));
}

/** Replace an adapter's parameters by N(0, 0.1²) draws from `seed` (LoRA's B starts at 0, which hides most bugs). */
export function randomize(model: AdapterModel, name: string, seed: number): void {
  const rng = new Rng(seed);
  for (const p of model.adapterParams(name)) {
    const t = init.normal(rng, [...p.variable.shape], 0.1);
    p.variable.assign(t);
    t.dispose();
  }
}
