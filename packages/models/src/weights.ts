import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config-reader';
import { architectureOf } from './registry';
import { WeightsMismatchError, type ParamLayout, type WeightMismatch, type WeightsMismatchDetails } from './core';

/** How {@link initHost} fills a parameter. */
export type WeightInit = 'normal' | 'zeros' | 'ones';

/** One expected base-model parameter. */
export interface WeightSpec {
  /** HF state-dict name without the base-model prefix, e.g. `encoder.layer.0.attention.self.query.weight`. */
  readonly name: string;
  /** Shape in the file (PyTorch layout: nn.Linear weights `[out, in]`, GPT-2 Conv1D weights `[in, out]`). */
  readonly shape: readonly number[];
  /** `linear`: stored transposed (`[in, out]`) in memory; `plain`: as in the file. */
  readonly layout: ParamLayout;
  readonly init: WeightInit;
  /** Part of the optional BERT pooler (absent in e.g. `*ForMaskedLM` checkpoints). */
  readonly pooler?: boolean;
}

/** Base-model attribute name of the HF `*For*` classes (prefix of their state-dict keys). */
export function baseModelPrefixOf(config: ModelConfig): string {
  return architectureOf(config.modelType)!.baseModelPrefix(config);
}

/** Every parameter a host of `config` has, in a fixed order (its architecture's list). */
export function expectedWeights(config: ModelConfig): WeightSpec[] {
  return architectureOf(config.modelType)!.expectedWeights(config);
}

/** Builds a parameter list in file layout (helpers for architecture descriptors). @internal */
export class WeightList {
  readonly specs: WeightSpec[] = [];

  /** nn.Linear `[out, in]` (memory `[in, out]`) with an optional bias `[out]`. */
  linear(name: string, outDim: number, inDim: number, options: { bias?: boolean; pooler?: boolean } = {}): this {
    const extra = options.pooler ? { pooler: true } : {};
    this.specs.push({ name: `${name}.weight`, shape: [outDim, inDim], layout: 'linear', init: 'normal', ...extra });
    if (options.bias !== false) this.specs.push({ name: `${name}.bias`, shape: [outDim], layout: 'plain', init: 'zeros', ...extra });
    return this;
  }

  /** HF Conv1D (GPT-2): weight `[in, out]` in file and memory, bias `[out]`. */
  conv1d(name: string, inDim: number, outDim: number): this {
    this.specs.push({ name: `${name}.weight`, shape: [inDim, outDim], layout: 'plain', init: 'normal' });
    this.specs.push({ name: `${name}.bias`, shape: [outDim], layout: 'plain', init: 'zeros' });
    return this;
  }

  /** LayerNorm `weight` (ones) and `bias` (zeros) `[dim]`; RMSNorm has no bias. */
  norm(name: string, dim: number, bias = true): this {
    this.specs.push({ name: `${name}.weight`, shape: [dim], layout: 'plain', init: 'ones' });
    if (bias) this.specs.push({ name: `${name}.bias`, shape: [dim], layout: 'plain', init: 'zeros' });
    return this;
  }

  /** An embedding table `[rows, dim]`. */
  embedding(name: string, rows: number, dim: number): this {
    this.specs.push({ name, shape: [rows, dim], layout: 'plain', init: 'normal' });
    return this;
  }
}

/** Key prefixes of task heads in HF `*For*` checkpoints; such keys are ignored (with a note). */
const HEAD_PREFIXES = ['cls.', 'lm_head.', 'classifier.', 'qa_outputs.'];


/** What {@link matchWeights} needs to know about a supplied tensor. */
export interface SuppliedWeight {
  readonly shape: readonly number[];
  /** True for float data (F32/F16/BF16/F64 files, float32 tensors). */
  readonly isFloat: boolean;
  /** Dtype as the source calls it (for messages). */
  readonly dtype: string;
}

/** Result of a successful {@link matchWeights}. */
export interface WeightMatch {
  /** The parameters to create, in order. */
  readonly specs: WeightSpec[];
  /** Expected name → key in the source. */
  readonly keys: Map<string, string>;
  /** Ignored keys, one human-readable line each. */
  readonly notes: string[];
  /** Whether the (BERT-family) pooler is present. */
  readonly hasPooler: boolean;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Compare supplied weights with what `config` needs, before anything is allocated. Keys may carry the base-model
 * prefix (`bert.`, `roberta.`, `transformer.`); head keys and known buffers are ignored with a note. A BERT-family
 * checkpoint without any `pooler.*` key loads without a pooler (noted).
 *
 * @throws WeightsMismatchError listing every missing name, unexpected name and shape/dtype mismatch.
 */
export function matchWeights(config: ModelConfig, supplied: ReadonlyMap<string, SuppliedWeight>, source: string): WeightMatch {
  const arch = architectureOf(config.modelType)!;
  const prefix = `${arch.baseModelPrefix(config)}.`;
  const all = arch.expectedWeights(config);
  const expectedByName = new Map(all.map((s) => [s.name, s]));
  const keys = new Map<string, string>();
  const notes: string[] = [];
  const unexpected: string[] = [];
  const mismatched: WeightMismatch[] = [];
  const ignoredHeads: string[] = [];
  const ignoredBuffers: string[] = [];

  for (const key of supplied.keys()) {
    const name = key.startsWith(prefix) ? key.slice(prefix.length) : key;
    if (!expectedByName.has(name) && HEAD_PREFIXES.some((p) => name.startsWith(p))) {
      ignoredHeads.push(key);
      continue;
    }
    if (arch.isBuffer(config, name)) {
      ignoredBuffers.push(key);
      continue;
    }
    if (!expectedByName.has(name)) {
      unexpected.push(key);
      continue;
    }
    const previous = keys.get(name);
    if (previous !== undefined) {
      unexpected.push(`${key} (duplicate of ${previous})`);
      continue;
    }
    keys.set(name, key);
  }

  const poolerSpecs = all.filter((s) => s.pooler);
  const hasPooler = poolerSpecs.some((s) => keys.has(s.name));
  const specs = all.filter((s) => !s.pooler || hasPooler);
  const missing = specs.filter((s) => !keys.has(s.name)).map((s) => s.name);
  for (const s of specs) {
    const key = keys.get(s.name);
    if (key === undefined) continue;
    const w = supplied.get(key)!;
    const shapeOk = w.shape.length === s.shape.length && w.shape.every((d, i) => d === s.shape[i]);
    if (!shapeOk || !w.isFloat) {
      mismatched.push({ name: key, expected: s.shape, got: w.shape, ...(w.isFloat ? {} : { dtype: w.dtype }) });
    }
  }

  if (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0) {
    const lines = [
      `${source}: weights do not match the ${config.modelType} config ` +
        `(hidden ${config.hiddenSize}, ${config.numLayers} layers, intermediate ${config.intermediateSize}, vocab ${config.vocabSize}):`,
    ];
    if (missing.length > 0) lines.push(`  missing (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length > 0) lines.push(`  unexpected (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length > 0) {
      lines.push(`  mismatched (${mismatched.length}):`);
      for (const m of mismatched) {
        lines.push(
          m.dtype !== undefined
            ? `    ${m.name}: expected float32 ${fmt(m.expected)}, got ${m.dtype} ${fmt(m.got)}`
            : `    ${m.name}: expected ${fmt(m.expected)}, got ${fmt(m.got)}`,
        );
      }
    }
    const details: WeightsMismatchDetails = { source, missing, unexpected, mismatched };
    throw Object.assign(new WeightsMismatchError('WEIGHTS_MISMATCH', lines.join('\n')), { details });
  }

  if (ignoredHeads.length > 0) notes.push(`ignored task-head weights: ${ignoredHeads.join(', ')}`);
  if (ignoredBuffers.length > 0) notes.push(`ignored non-parameter buffers: ${ignoredBuffers.join(', ')}`);
  if (poolerSpecs.length > 0 && !hasPooler) notes.push('no pooler.dense.* weights: the host has no pooler (poolerOutput is undefined)');
  return { specs, keys, notes, hasPooler };
}

let nextStoreId = 0;

/**
 * The variables of a host: HF name → `tf.Variable` (memory layout), plus which names are stored transposed.
 * @internal
 */
export class ParameterStore {
  readonly variables = new Map<string, tf.Variable>();
  readonly layouts = new Map<string, ParamLayout>();
  private readonly scope = `adapterkit-models#${nextStoreId++}`;

  /** Add a parameter from a tensor in file layout (not disposed; the variable gets its own copy/reference). */
  addFromFile(spec: WeightSpec, fileTensor: tf.Tensor): void {
    // Variables are not tracked by tidy; the intermediates (transpose, cast) are freed, the variable keeps its data.
    const v = tf.tidy(() => {
      const mem = spec.layout === 'linear' ? tf.transpose(fileTensor) : fileTensor;
      return tf.variable(mem.dtype === 'float32' ? mem : tf.cast(mem, 'float32'), true, `${this.scope}/${spec.name}`);
    });
    this.variables.set(spec.name, v);
    this.layouts.set(spec.name, spec.layout);
  }

  get(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`internal: no parameter ${name}`);
    return v;
  }

  transposedNames(): Set<string> {
    return new Set([...this.layouts].filter(([, l]) => l === 'linear').map(([n]) => n));
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
