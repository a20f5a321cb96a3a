import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, WeightsMismatchError } from '../errors';

/**
 * How a parameter is laid out in files vs. in memory. `linear`: files hold PyTorch's `[out, in]`, memory holds
 * `[in, out]` (so forward passes need no transpose). `plain`: identical.
 */
export type ParamLayout = 'plain' | 'linear';

/** One named parameter of an adapter (or of a host), under the reference library's state-dict key. */
export interface NamedParam {
  /** State-dict key relative to the base model, e.g. `encoder.layer.0.output.adapters.a.adapter_up.weight`. */
  readonly key: string;
  readonly variable: tf.Variable;
  readonly layout: ParamLayout;
  /** Other keys under which the reference stores the same tensor (accepted on load, not written). */
  readonly aliases: readonly string[];
  /**
   * Files may lack this parameter (the reference forgets to save some, e.g. Compacter's shared `phm_rule`): a
   * load keeps the initial value and warns instead of failing.
   */
  readonly optional: boolean;
  /** Never trained (registered with `trainable: false`, e.g. Compacter's rule with `learn_phm=False`). */
  readonly frozen: boolean;
}

let nextCollectorId = 0;

/** Shape of a parameter as stored in files (PyTorch layout). */
export function fileShape(p: NamedParam): number[] {
  return p.layout === 'linear' ? [...p.variable.shape].reverse() : [...p.variable.shape];
}

/** Convert a tensor read from a file into memory layout (takes ownership of `t`). */
export function fromFileLayout(layout: ParamLayout, t: tf.Tensor): tf.Tensor {
  if (layout === 'plain') return t;
  const out = tf.transpose(t);
  t.dispose();
  return out;
}

/** A tensor in file layout for the parameter (new tensor; caller disposes). */
export function toFileLayout(p: NamedParam): tf.Tensor {
  return p.layout === 'linear' ? tf.transpose(p.variable) : tf.clone(p.variable);
}

/**
 * Download parameters in file layout (PyTorch `[out, in]` for `linear` ones), keyed by `keyPrefix + key`, as
 * `serializeSafetensors` takes them. No tensor outlives the call.
 */
export async function paramsToFileTensors(params: readonly NamedParam[], keyPrefix = ''): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const p of params) {
    const t = toFileLayout(p);
    try {
      out[keyPrefix + p.key] = { shape: fileShape(p), data: (await t.data()) as Float32Array };
    } finally {
      t.dispose();
    }
  }
  return out;
}

/**
 * Collects the parameters a method instance creates, under unique tfjs variable names. Each parameter is a
 * `tf.Variable` owned by the collector until {@link ParamCollector.dispose}.
 */
export class ParamCollector {
  private readonly params: NamedParam[] = [];
  private readonly byKey = new Map<string, NamedParam>();
  private readonly scope: string;

  private elements = 0;

  /**
   * @param scope - Prefix of the variable names.
   * @param maxElements - Most scalars all parameters together may hold (e.g. what a weights file being loaded can
   *   fill); `add` throws a WeightsMismatchError (`ADAPTER_SIZE_EXCEEDS_FILE`) past it, before the rest is made.
   */
  constructor(scope: string, private readonly maxElements = Infinity) {
    this.scope = `${scope}#${nextCollectorId++}`;
  }

  /**
   * Register a parameter. `initial` is owned by the collector afterwards (do not dispose it). For `linear`
   * layout pass `initial` in memory layout `[in, out]`.
   */
  add(key: string, initial: tf.Tensor, opts: { layout?: ParamLayout; aliases?: string[]; trainable?: boolean; optional?: boolean } = {}): tf.Variable {
    if (this.byKey.has(key)) {
      initial.dispose();
      throw new AdapterStateError('DUPLICATE_PARAM', `Parameter '${key}' is registered twice`);
    }
    this.elements += initial.size;
    if (this.elements > this.maxElements) {
      const shape = initial.shape.join(', ');
      initial.dispose();
      throw new WeightsMismatchError(
        'ADAPTER_SIZE_EXCEEDS_FILE',
        `Parameter '${key}' [${shape}] takes the adapter past ${this.maxElements} values, more than its weights file can fill: the config asks for larger weights than were saved`,
      );
    }
    const variable = tf.variable(initial, opts.trainable ?? true, `${this.scope}/${key}`);
    initial.dispose();
    const param: NamedParam = { key, variable, layout: opts.layout ?? 'plain', aliases: opts.aliases ?? [], optional: opts.optional ?? false, frozen: opts.trainable === false };
    this.params.push(param);
    this.byKey.set(key, param);
    return variable;
  }

  /** Parameters in registration order. */
  list(): readonly NamedParam[] {
    return this.params;
  }

  get(key: string): NamedParam | undefined {
    return this.byKey.get(key);
  }

  /** Total number of scalars. */
  count(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    this.params.length = 0;
    this.byKey.clear();
  }
}
