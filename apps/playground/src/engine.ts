/**
 * What the playground does with AdapterKit, shared by the page and the training worker: backend set-up, loading
 * the embedded model and tokenizer from static files, classifying, training, and packing an adapter as a zip.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendInfo, type BackendModules } from '@adapterkit/backends';
import { AdapterConfigError, AdapterModel, adapterHubGapsOf, toSource, type SourceInput } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { loadTokenizer, type Tokenizer } from '@adapterkit/data';
import { addClassificationHead, forwardWithHeads, getHeads, headCompanion, train, type TrainEvent } from '@adapterkit/training';
import { writeZipFiles } from '@adapterkit/torch-format';

/** Backends the page offers (`initBackend` tries them in this order when none is asked for). */
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type PageBackend = (typeof BACKENDS)[number];

/**
 * The tfjs backend packages as loaders Vite resolves and splits into chunks of their own: a backend's code is
 * fetched only when `initBackend` tries it. The wasm binaries are served next to the page (`wasm/`), so the page
 * works offline.
 */
export function backendModules(base: string): BackendModules {
  return {
    webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
    webgl: () => import('@tensorflow/tfjs-backend-webgl'),
    wasm: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(new URL('wasm/', base).href);
      return wasm;
    },
    cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  };
}

/**
 * `initBackend` from `@adapterkit/backends` with the page's loaders: `preferred` or the best backend that starts
 * (webgpu with a hardware adapter → webgl → wasm → cpu), with what it skipped and why; AdapterKit's training
 * kernels are registered on it. `cpuForward: false` keeps every webgpu op on the GPU (the parity page).
 */
export function setupBackend(preferred: PageBackend | undefined, base: string, options: { cpuForward?: boolean } = {}): Promise<BackendInfo> {
  return initBackend(preferred, { modules: backendModules(base), ...options });
}

/** The base model and tokenizer, read from a folder of static files (or any source). */
export async function loadBase(modelDir: SourceInput): Promise<{ model: AdapterModel; tokenizer: Tokenizer }> {
  const src = toSource(modelDir);
  const [host, tokenizer] = await Promise.all([loadHost(src), loadTokenizer(src)]);
  return { model: new AdapterModel(host, { methods: [...bottleneck, ...lora] }), tokenizer };
}

/** One prediction: the label, its probability and all probabilities. */
export interface Prediction {
  readonly label: string;
  readonly probability: number;
  readonly probabilities: readonly number[];
  readonly labels: readonly string[];
}

/**
 * Classifies `text` with the active adapter setup and the head named like `head`. Reads the result with `await
 * data()` (GPU backends download it asynchronously; `dataSync` would stall the page on webgl and needs a canvas on
 * webgpu).
 */
export async function classify(model: AdapterModel, tokenizer: Tokenizer, text: string, head: string): Promise<Prediction> {
  const enc = tokenizer.encode(text, null, { truncation: true, maxLength: 128 });
  const probsT = tf.tidy(() => {
    const inputIds = tf.tensor2d([enc.ids], [1, enc.ids.length], 'int32');
    const attentionMask = tf.tensor2d([enc.attentionMask], [1, enc.ids.length], 'int32');
    const { logits } = forwardWithHeads(model, { inputIds, attentionMask }, { head });
    return tf.softmax(tf.reshape(logits, [-1]));
  });
  const probs = await probsT.data();
  probsT.dispose();
  const h = getHeads(model).require(head);
  const labels = labelNames(h.config.label2id, probs.length);
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  return { label: labels[best]!, probability: probs[best]!, probabilities: [...probs], labels };
}

function labelNames(label2id: Readonly<Record<string, number>> | null, n: number): string[] {
  const out = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  for (const [label, id] of Object.entries(label2id ?? {})) if (id >= 0 && id < n) out[id] = label;
  return out;
}

/** `label<TAB or comma>text` lines (CSV with a header `label,text` too) → examples and the label names. */
export function parseLabelledLines(text: string): { examples: Array<{ text: string; label: string }>; labels: string[] } {
  const examples: Array<{ text: string; label: string }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || (i === 0 && /^label\s*[,\t]\s*text$/i.test(t))) return;
    const m = /^([^,\t]+)[,\t]\s*(.+)$/.exec(t);
    if (!m) throw new Error(`line ${i + 1}: expected "label<TAB>text" or "label,text", got ${JSON.stringify(t.slice(0, 60))}`);
    examples.push({ label: m[1]!.trim(), text: m[2]!.trim() });
  });
  const labels = [...new Set(examples.map((e) => e.label))].sort();
  if (labels.length < 2) throw new Error(`need at least two labels, got ${labels.length}`);
  return { examples, labels };
}

/** Options of {@link trainAdapter}. */
export interface TrainRequest {
  readonly name: string;
  readonly config: string;
  readonly lines: string;
  readonly steps: number;
  readonly lr: number;
  readonly heldOut: number;
  readonly seed: number;
}

/** Progress messages of {@link trainAdapter}. */
export type TrainProgress =
  | { readonly type: 'step'; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly stepMs: number }
  | { readonly type: 'eval'; readonly step: number; readonly accuracy: number };

/**
 * Adds adapter + classification head `name`, trains them for `steps` steps on all but the last `heldOut` fraction of
 * the lines (in a seeded order), reports held-out accuracy, and returns the AdapterHub folder (adapter + head).
 */
export async function trainAdapter(model: AdapterModel, tokenizer: Tokenizer, req: TrainRequest, progress: (p: TrainProgress) => void): Promise<Map<string, Uint8Array>> {
  const { examples, labels } = parseLabelledLines(req.lines);
  const order = examples.map((_, i) => i);
  let s = req.seed >>> 0 || 1;
  for (let i = order.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nEval = Math.max(1, Math.round(examples.length * req.heldOut));
  const toExample = (e: { text: string; label: string }): { inputIds: number[]; attentionMask: number[]; labels: number } => {
    const enc = tokenizer.encode(e.text, null, { truncation: true, maxLength: 64 });
    return { inputIds: enc.ids, attentionMask: enc.attentionMask, labels: labels.indexOf(e.label) };
  };
  const evalData = order.slice(0, nEval).map((i) => toExample(examples[i]!));
  const trainData = order.slice(nEval).map((i) => toExample(examples[i]!));
  if (model.hasAdapter(req.name)) model.deleteAdapter(req.name);
  model.addAdapter(req.name, req.config);
  // the download is an AdapterHub folder: refuse, before training, a config Python's libraries would load differently
  const gaps = adapterHubGapsOf(model, req.name);
  if (gaps.length > 0) {
    model.deleteAdapter(req.name);
    throw new AdapterConfigError('NOT_ADAPTERHUB_LOADABLE', `config '${req.config}': adapter-transformers and adapters would load the download as a different model: ${gaps.join('; ')}`);
  }
  addClassificationHead(model, req.name, { numLabels: labels.length, id2label: labels });
  await train(model, {
    adapter: req.name,
    trainData,
    evalData,
    batchSize: 8,
    maxSteps: req.steps,
    lr: req.lr,
    evalEvery: Math.max(1, Math.floor(req.steps / 3)),
    seed: req.seed,
    onProgress: (e: TrainEvent) => {
      if (e.type === 'step') progress({ type: 'step', step: e.step, totalSteps: e.totalSteps, loss: e.loss, stepMs: e.stepMs });
      if (e.type === 'eval' && typeof e.metrics['accuracy'] === 'number') progress({ type: 'eval', step: e.step, accuracy: e.metrics['accuracy'] });
    },
  });
  const files = new Map<string, Uint8Array>();
  await model.saveAdapter(files, req.name, { companions: [headCompanion] });
  return files;
}

/** A zip of an AdapterHub folder, the files under `<name>/`. */
export function zipFolder(name: string, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return writeZipFiles(new Map([...files].map(([k, v]) => [`${name}/${k}`, v])));
}
