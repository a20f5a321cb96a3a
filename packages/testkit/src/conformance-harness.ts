import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, type ModelInputs, type ModelOutputs, type TransformerHost } from '@adapterkit/core';
import { conformanceInputs, createConformanceHost, hasLmHead, type ConformanceHostKind } from './conformance-hosts';
import type { AdapterPlugin } from './conformance-options';
import { collectTensors, maxAbsDiff } from './tensors';

/** A failed conformance check; the message names the config, the host and what differed. */
export class ConformanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceError';
  }
}

/** Throw a {@link ConformanceError} unless `ok`. */
export function ensure(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new ConformanceError(message());
}

/** A tiny host wrapped in an AdapterModel with the suite's plugins, plus the fixed input batch. */
export class Harness {
  readonly model: AdapterModel;
  readonly inputs: ModelInputs;
  readonly lmLogits: boolean;

  constructor(
    readonly kind: ConformanceHostKind,
    plugins: readonly AdapterPlugin[],
    host: TransformerHost = createConformanceHost(kind),
  ) {
    this.model = new AdapterModel(host, { methods: plugins, warn: () => undefined });
    this.inputs = conformanceInputs(kind);
    this.lmLogits = hasLmHead(kind);
  }

  /** Forward the fixed batch with the active setup (LM logits on hosts with an LM head). The caller disposes. */
  forward(training = false): ModelOutputs {
    return this.model.forward(this.inputs, { training, lmLogits: this.lmLogits });
  }

  dispose(): void {
    tf.dispose(collectTensors(this.inputs));
    this.model.dispose();
  }
}

/** Run `fn` with a fresh {@link Harness}, disposing it afterwards. */
export async function withHarness<T>(kind: ConformanceHostKind, plugins: readonly AdapterPlugin[], fn: (h: Harness) => T | Promise<T>): Promise<T> {
  const h = new Harness(kind, plugins);
  try {
    return await fn(h);
  } finally {
    h.dispose();
  }
}

/** Dispose every tensor of a forward's outputs. */
export function disposeOutputs(o: ModelOutputs): void {
  tf.dispose(collectTensors(o));
}

const OUTPUT_KEYS = ['lastHiddenState', 'poolerOutput', 'logits'] as const;

/** The largest |a − b| over every output, and the output where it occurs. Both sets must have the same outputs. */
export function outputDiff(a: ModelOutputs, b: ModelOutputs): { diff: number; output: string } {
  let worst = { diff: 0, output: 'lastHiddenState' };
  for (const key of OUTPUT_KEYS) {
    const x = a[key];
    const y = b[key];
    ensure((x === undefined) === (y === undefined), () => `output '${key}' is present in only one of two forwards`);
    if (!x || !y) continue;
    const d = maxAbsDiff(x, y);
    if (!(d <= worst.diff)) worst = { diff: d, output: key };
  }
  return worst;
}

/** A value copy of every variable (compared later with {@link changedVariables}). */
export function snapshot(vars: Iterable<tf.Variable>): Map<tf.Variable, Float32Array> {
  const out = new Map<tf.Variable, Float32Array>();
  for (const v of vars) out.set(v, new Float32Array(v.dataSync() as Float32Array));
  return out;
}

/** Variables of a snapshot whose current value is not bit-identical to the snapshot. */
export function changedVariables(before: ReadonlyMap<tf.Variable, Float32Array>): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const [v, old] of before) {
    const now = v.dataSync() as Float32Array;
    if (!bitEqual(old, now)) out.push(v);
  }
  return out;
}

/** Bit equality of two float arrays (NaN payloads and ±0 distinguished). */
export function bitEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Deterministic values in (−1, 1) for a shape (a fixed LCG stream), as a new tensor. */
export function patternTensor(shape: readonly number[], seed = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return tf.tensor(data, [...shape]);
}
