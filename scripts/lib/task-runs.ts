/**
 * Shared by `scripts/main-job.ts` and `scripts/results.ts`: build the embedded base model with one fine-tuning
 * method (an adapter config string, full fine-tuning, or the head alone) and a classification head, train it on an
 * embedded task, evaluate it, save it and measure what was saved.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, serializeSafetensors, type SerializableTensor } from '@adapterkit/core';
import { toTrainingExamples, type LabelMap, type Tokenizer } from '@adapterkit/data';
import { loadEmbeddedDataset } from '@adapterkit/datasets';
import { loadHost, type ModelHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as compacter } from '@adapterkit/compacter';
import { plugins as lora } from '@adapterkit/lora';
import { plugins as prefixTuning } from '@adapterkit/prefix-tuning';
import { plugins as promptTuning } from '@adapterkit/prompt-tuning';
import { plugins as reft } from '@adapterkit/reft';
import {
  addClassificationHead,
  collectTrainable,
  evaluate,
  HEAD_WEIGHTS_FILE,
  saveAdapterWithHead,
  saveHead,
  train,
  type Example,
} from '@adapterkit/training';

/** The repository's embedded base model (built by `pnpm pretrain:embedded`). */
export const EMBEDDED_MODEL_DIR = resolve(import.meta.dirname, '../../packages/bert-mini/model');

/** Every method package the runs may use. */
const METHODS = [...bottleneck, ...compacter, ...lora, ...prefixTuning, ...promptTuning, ...reft];

/** How a run fine-tunes: an adapter config string (base frozen), the whole model, or the head alone (base frozen). */
export type Method = { readonly kind: 'adapter'; readonly config: string } | { readonly kind: 'full' } | { readonly kind: 'head-only' };

/** An embedded task, tokenized: unpadded examples with class ids. */
export interface Task {
  readonly name: 'spam' | 'langid';
  readonly labels: LabelMap;
  readonly train: readonly Example[];
  readonly test: readonly Example[];
  readonly maxLength: number;
}

/** Training hyper-parameters of a run. */
export interface TrainSettings {
  readonly lr: number;
  readonly batchSize: number;
  /** Optimizer steps (linear decay to 0 after `warmupRatio` of them). */
  readonly steps: number;
  readonly warmupRatio: number;
  readonly seed: number;
  readonly onStep?: (step: number, total: number, loss: number) => void;
}

/** What a run measured. */
export interface RunResult {
  readonly accuracy: number;
  readonly testExamples: number;
  /** Trained parameters without the head (adapter, or the whole base model; 0 for head-only). */
  readonly methodParams: number;
  readonly headParams: number;
  /** The method's weights file (`adapter.safetensors`, the full `model.safetensors`, or none for head-only). */
  readonly methodFileBytes: number;
  readonly headFileBytes: number;
  readonly trainSeconds: number;
  readonly steps: number;
}


/** An embedded dataset's fixed seeded splits (seed 42), tokenized to `maxLength` tokens. */
export async function loadTask(name: Task['name'], tokenizer: Tokenizer, maxLength: number): Promise<Task> {
  const ds = await loadEmbeddedDataset(name);
  const encode = (rows: typeof ds.train): Example[] => toTrainingExamples(tokenizer, rows, { maxLength, labelMap: ds.labels });
  return { name, labels: ds.labels, train: encode(ds.train), test: encode(ds.test), maxLength };
}

/** The base model in `modelDir` with `method` and a classification head named like the task. */
export async function buildModel(modelDir: string, task: Task, method: Method, seed = 42): Promise<AdapterModel> {
  const model = new AdapterModel(await loadHost(modelDir), { methods: METHODS, seed });
  if (method.kind === 'adapter') model.addAdapter(task.name, method.config);
  addClassificationHead(model, task.name, { numLabels: task.labels.size, id2label: task.labels.names, seed });
  return model;
}

/** Train the model's method and head on the task's training split; returns the wall time of `train()`. */
export async function trainRun(model: AdapterModel, task: Task, method: Method, s: TrainSettings): Promise<{ seconds: number; steps: number; params: number; headParams: number }> {
  const t0 = performance.now();
  const result = await train(model, {
    mode: method.kind === 'adapter' ? 'adapter' : method.kind === 'full' ? 'full' : 'heads',
    ...(method.kind === 'adapter' ? { adapter: task.name } : {}),
    head: task.name,
    trainData: task.train,
    batchSize: s.batchSize,
    maxSteps: s.steps,
    lr: s.lr,
    warmupSteps: Math.round(s.warmupRatio * s.steps),
    seed: s.seed,
    padTokenId: padId(model),
    ...(s.onStep ? { onProgress: (e) => e.type === 'step' && s.onStep!(e.step, e.totalSteps, e.loss) } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const trained = collectTrainable(model);
  const count = (heads: boolean): number => trained.filter((p) => p.key.startsWith('heads.') === heads).reduce((n, p) => n + p.variable.size, 0);
  return { seconds, steps: result.step, params: count(false), headParams: count(true) };
}

function padId(model: AdapterModel): number {
  return (model.host as ModelHost).config.padTokenId ?? 0;
}

/** Serialise named tensors (file layout) as safetensors bytes; disposes them. */
export async function safetensorsBytes(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Uint8Array> {
  const out: Record<string, SerializableTensor> = {};
  for (const [key, t] of [...tensors].sort(([a], [b]) => (a < b ? -1 : 1))) out[key] = { shape: [...t.shape], data: (await t.data()) as Float32Array };
  tf.dispose([...tensors.values()]);
  return serializeSafetensors(out);
}

/**
 * Save what the run trained into `dir` (AdapterHub layout: `adapter.safetensors` + the head; full fine-tuning: the
 * whole `model.safetensors` + the head; head-only: the head) and return the file sizes.
 */
export async function saveRun(model: AdapterModel, task: Task, method: Method, dir: string): Promise<{ methodFileBytes: number; headFileBytes: number }> {
  let methodFileBytes = 0;
  if (method.kind === 'adapter') {
    // saved to measure its size (DoRA too, which AdapterHub's libraries lack: adapterKitOnly)
    await saveAdapterWithHead(model, dir, task.name, { adapterKitOnly: true });
    methodFileBytes = statSync(join(dir, 'adapter.safetensors')).size;
  } else {
    await saveHead(model, dir, task.name);
    if (method.kind === 'full') methodFileBytes = (await safetensorsBytes((model.host as ModelHost).exportWeights('bert.'))).byteLength;
  }
  return { methodFileBytes, headFileBytes: statSync(join(dir, HEAD_WEIGHTS_FILE)).size };
}

/** Size of a model folder's `model.safetensors`. */
export function baseModelBytes(modelDir: string): number {
  return statSync(join(modelDir, 'model.safetensors')).size;
}

/** Build, train, evaluate on the test split, save to a temporary folder and measure; frees the model. */
export async function runMethod(modelDir: string, task: Task, method: Method, s: TrainSettings): Promise<RunResult> {
  const model = await buildModel(modelDir, task, method, s.seed);
  const dir = mkdtempSync(join(tmpdir(), 'adapterkit-run-'));
  try {
    const t = await trainRun(model, task, method, s);
    const accuracy = (await evaluate(model, task.test, { head: task.name, batchSize: 32, metrics: ['accuracy'] }))['accuracy']!;
    const files = await saveRun(model, task, method, dir);
    return { accuracy, testExamples: task.test.length, methodParams: t.params, headParams: t.headParams, ...files, trainSeconds: t.seconds, steps: t.steps };
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `12,345` */
export const fmtInt = (n: number): string => n.toLocaleString('en-US');
/** Bytes as KB/MB. */
export const fmtBytes = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} KB`);
