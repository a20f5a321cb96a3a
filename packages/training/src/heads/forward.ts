import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, type AdapterModel, type ModelInputs, type ModelOutputs, type Rng } from '@adapterkit/core';
import { getHeads, type HeadSetup } from './registry';

/** One head's result. */
export interface HeadOutput {
  readonly head: string;
  /** Classification `[B, n]`, multiple choice `[B, num_choices]`, tagging `[B, S, n]`, LM `[B, S, vocab]`. */
  readonly logits: tf.Tensor;
  /** Present when labels were given. */
  readonly loss?: tf.Scalar;
}

/** Result of {@link forwardWithHeads}; every tensor belongs to the caller. */
export interface HeadsForwardResult {
  /** The model's own outputs (`lastHiddenState [B', S, H]`, ...; B' = B·n under a Parallel setup). */
  readonly outputs: ModelOutputs;
  /** One entry per used head, in setup order. */
  readonly heads: readonly HeadOutput[];
  /** Logits of the first head. */
  readonly logits: tf.Tensor;
  /** Single head: its loss; Parallel/BatchSplit heads: the sum of their losses (as the reference); a plain list: none. */
  readonly loss?: tf.Scalar;
}

/** Options of {@link forwardWithHeads}. */
export interface HeadsForwardOptions {
  /** Head(s) to use instead of the active head setup. */
  readonly head?: string | readonly string[];
  /**
   * Labels (classification `[B]`, multi-label `[B, n]`, multiple choice `[B]` for inputs of B·num_choices rows,
   * tagging/LM `[B, S]`). BatchSplit heads get their rows (a multiple-choice head: one label per num_choices rows);
   * Parallel heads each get all of them (one per replica of the batch).
   */
  readonly labels?: tf.Tensor;
  /** Dropout on (default false). */
  readonly training?: boolean;
  /** Seed of the training forward's random source (see `ForwardOptions.seed`): same seed, same forward. */
  readonly seed?: number;
  /** The training forward's random source itself (takes precedence over `seed`). */
  readonly rng?: Rng;
}

function sliceRows<T extends tf.Tensor>(t: T, start: number, size: number): T {
  const begin = t.shape.map((_, i) => (i === 0 ? start : 0));
  const sizes = t.shape.map((d, i) => (i === 0 ? size : d));
  return tf.slice(t, begin, sizes) as T;
}

function sliceOutputs(o: ModelOutputs, start: number, size: number): ModelOutputs {
  return {
    lastHiddenState: sliceRows(o.lastHiddenState, start, size),
    ...(o.poolerOutput ? { poolerOutput: sliceRows(o.poolerOutput, start, size) } : {}),
    ...(o.logits ? { logits: sliceRows(o.logits, start, size) } : {}),
  };
}

function resolveSetup(model: AdapterModel, head: string | readonly string[] | undefined): HeadSetup {
  const reg = getHeads(model);
  if (head !== undefined) {
    const names = typeof head === 'string' ? [head] : [...head];
    return { kind: names.length === 1 ? 'single' : 'list', names };
  }
  const active = reg.activeHead;
  if (!active) {
    throw new AdapterStateError('NO_ACTIVE_HEAD', `No active head (have: ${reg.names().join(', ') || 'none'}); add one or pass { head }`);
  }
  return active;
}

/**
 * Run the model and its active head(s) (or `options.head`): the reference's flex-head forward. Dropout only when
 * `training`. With `labels`, each head's loss is computed as the reference does.
 */
export function forwardWithHeads(model: AdapterModel, inputs: ModelInputs, options: HeadsForwardOptions = {}): HeadsForwardResult {
  const setup = resolveSetup(model, options.head);
  const reg = getHeads(model);
  const heads = setup.names.map((n) => reg.require(n));
  const training = options.training ?? false;
  // One random source for the whole forward: the model's dropout and the heads' dropout draw from it.
  const random = training ? { rng: model.forwardRng(options) } : {};
  const batch = inputs.inputIds.shape[0];
  // LM heads run the model's `head.input` hook (inverse invertible adapter) inside the same forward state
  const headInput = (x: tf.Tensor3D): tf.Tensor3D => model.runHook('head.input', x, { training, ...random });
  return model.forwardWith(inputs, { training, ...random }, (outputs) => {
    const rows = outputs.lastHiddenState.shape[0];
    if (setup.kind === 'parallel' && rows !== batch * heads.length) {
      throw new AdapterStateError('HEAD_SETUP_MISMATCH', `${heads.length} parallel heads need an output batch of ${batch}×${heads.length}, got ${rows}`);
    }
    if (setup.kind === 'batchSplit') {
      const total = (setup.batchSizes ?? []).reduce((a, b) => a + b, 0);
      if (total !== rows) throw new AdapterStateError('HEAD_SETUP_MISMATCH', `BatchSplit heads cover ${total} rows, but the batch has ${rows}`);
    }
    let start = 0;
    const results: HeadOutput[] = heads.map((h, i) => {
      let outs = outputs;
      let labels = options.labels;
      let mask = inputs.attentionMask;
      if (setup.kind === 'parallel') {
        outs = sliceOutputs(outputs, i * batch, batch);
      } else if (setup.kind === 'batchSplit') {
        const size = setup.batchSizes![i]!;
        outs = sliceOutputs(outputs, start, size);
        if (labels) {
          const per = h.rowsPerExample;
          if (start % per !== 0 || size % per !== 0) {
            throw new AdapterStateError('HEAD_SETUP_MISMATCH', `BatchSplit slice [${start}, ${start + size}) of head '${h.name}' does not hold whole examples of ${per} choices`);
          }
          labels = sliceRows(labels, start / per, size / per);
        }
        if (mask) mask = sliceRows(mask, start, size);
        start += size;
      }
      const logits = h.forward(outs, { training, ...random, headInput });
      return { head: h.name, logits, ...(labels ? { loss: h.loss(logits, labels, mask) } : {}) };
    });
    const losses = results.map((r) => r.loss).filter((l): l is tf.Scalar => l !== undefined);
    let loss: tf.Scalar | undefined;
    if (setup.kind === 'single') loss = losses[0];
    else if (setup.kind !== 'list' && losses.length === results.length && losses.length > 0) loss = tf.addN(losses) as tf.Scalar;
    return { outputs, heads: results, logits: results[0]!.logits, ...(loss ? { loss } : {}) } as never;
  }) as unknown as HeadsForwardResult;
}
