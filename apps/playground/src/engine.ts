/**
 * What the playground does with AdapterKit, shared by the page and the training worker: backend set-up, loading
 * the embedded model and tokenizer from static files, classifying, training, and packing an adapter as a zip.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { AdapterModel, registerTrainingSupport, toSource, type SourceInput } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { loadTokenizer, type Tokenizer } from '@adapterkit/data';
import { addClassificationHead, forwardWithHeads, getHeads, headCompanion, train, type TrainEvent } from '@adapterkit/training';
import { writeZipFiles } from '@adapterkit/torch-format';

/** Backends the page offers, in the order tried when none is asked for. */
export const BACKENDS = ['webgl', 'wasm', 'cpu'] as const;
export type PageBackend = (typeof BACKENDS)[number];

/** The backend the page ended up on and why the ones before it were skipped. */
export interface BackendChoice {
  readonly name: string;
  readonly skipped: ReadonlyArray<{ name: string; reason: string }>;
}

/**
 * Activates `preferred` (else the first of {@link BACKENDS} that starts) and registers AdapterKit's training
 * kernels. The wasm binaries are served next to the page (`wasm/`), so the page works offline.
 */
export async function setupBackend(preferred: PageBackend | undefined, base: string): Promise<BackendChoice> {
  setWasmPaths(new URL('wasm/', base).href);
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const name of preferred ? [preferred] : BACKENDS) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        await registerTrainingSupport();
        return { name: tf.getBackend(), skipped };
      }
      skipped.push({ name, reason: 'tf.setBackend returned false (no such context in this browser)' });
    } catch (err) {
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  throw new Error(`no backend started: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
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

/** Classifies `text` with the active adapter setup and the head named like `head`. */
export function classify(model: AdapterModel, tokenizer: Tokenizer, text: string, head: string): Prediction {
  const enc = tokenizer.encode(text, null, { truncation: true, maxLength: 128 });
  const probs = tf.tidy(() => {
    const inputIds = tf.tensor2d([enc.ids], [1, enc.ids.length], 'int32');
    const attentionMask = tf.tensor2d([enc.attentionMask], [1, enc.ids.length], 'int32');
    const { logits } = forwardWithHeads(model, { inputIds, attentionMask }, { head });
    return tf.softmax(tf.reshape(logits, [-1])).dataSync();
  });
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
