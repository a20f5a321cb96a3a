/**
 * MAD-X (Pfeiffer et al. 2020) end to end on a tiny randomly initialised BERT, in well under a minute on the cpu
 * backend:
 *
 * 1. train a language adapter `en` (`pfeiffer+inv`: Pfeiffer bottleneck + NICE invertible adapter) with masked
 *    language modelling on English sentences, and a language adapter `xx` on the same sentences in a second
 *    "language" (a letter-substitution cipher of English);
 * 2. train a task adapter `task` (`pfeiffer`) plus a linear classification head on English with the language adapter
 *    active below it, as the reference does: `train_adapter('task')` + `set_active_adapters(Stack('en', 'task'))`;
 * 3. swap the language adapter, `Stack('xx', 'task')`, and evaluate the task zero-shot on the second language.
 *
 * Run: `npx tsx --conditions=source packages/invertible/examples/mad-x.ts` (from the repository root).
 * `runMadX` is also what this package's test runs.
 *
 * The base model is random, not pre-trained, so the zero-shot numbers only show that the swap runs; the point is
 * the workflow. A real run loads a pre-trained multilingual model with `loadHost(dir)` instead of `initHost`.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/backends';
import { AdapterModel, init, linear, registerTrainingSupport, Rng, Stack, type AdapterSummaryRow, type ModelInputs } from '@adapterkit/core';
import { plugins as bottleneckPlugins, type BottleneckForwardState } from '@adapterkit/bottleneck';
import { initHost } from '@adapterkit/models';
import { plugins as invertiblePlugins } from '@adapterkit/invertible';

// ---------------------------------------------------------------------------------------------------------------
// Data: a small sentiment corpus, its cipher "translation", and a word-level tokenizer.

/** English sentences with a binary label (1 = positive). */
export const CORPUS: ReadonlyArray<readonly [string, 0 | 1]> = [
  ['the movie was good and the actors were great', 1],
  ['i love this film so much', 1],
  ['what a wonderful story with a happy ending', 1],
  ['the music was great and i enjoyed it', 1],
  ['a good film with a great cast', 1],
  ['i really enjoyed the happy story', 1],
  ['the actors were wonderful and the music was lovely', 1],
  ['this is the best movie of the year', 1],
  ['i love the story and the ending', 1],
  ['a lovely film that i will watch again', 1],
  ['the cast was great and the story was good', 1],
  ['what a happy and wonderful movie', 1],
  ['the movie was bad and the actors were awful', 0],
  ['i hate this film so much', 0],
  ['what a boring story with a sad ending', 0],
  ['the music was awful and i disliked it', 0],
  ['a bad film with a terrible cast', 0],
  ['i really disliked the boring story', 0],
  ['the actors were terrible and the music was dull', 0],
  ['this is the worst movie of the year', 0],
  ['i hate the story and the ending', 0],
  ['a dull film that i will never watch again', 0],
  ['the cast was awful and the story was bad', 0],
  ['what a sad and boring movie', 0],
];

/** The second "language": English with every letter replaced by the letter at the same position of this key. */
const CIPHER_KEY = 'qwertyuiopasdfghjklzxcvbnm';

/** Translate English into the cipher language (a deterministic letter substitution). */
export function toCipher(text: string): string {
  return text.replace(/[a-z]/g, (c) => CIPHER_KEY[c.charCodeAt(0) - 97]!);
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const PAD = 0;
export const CLS = 2;
export const SEP = 3;
export const MASK = 4;

/** A word-level tokenizer: `[CLS] w1 … wn [SEP]`, padded with `[PAD]` to the longest sentence of a batch. */
export class WordTokenizer {
  readonly vocab: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  constructor(texts: readonly string[]) {
    const words = new Set(texts.flatMap((t) => WordTokenizer.words(t)));
    this.vocab = [...SPECIALS, ...[...words].sort()];
    this.ids = new Map(this.vocab.map((w, i) => [w, i]));
  }

  static words(text: string): string[] {
    return text.toLowerCase().split(/[^a-z]+/).filter((w) => w.length > 0);
  }

  /** Token ids of one text (no padding). */
  encode(text: string): number[] {
    return [CLS, ...WordTokenizer.words(text).map((w) => this.ids.get(w) ?? 1), SEP];
  }

  /** Padded ids and attention mask of a batch, as number rows. */
  batch(texts: readonly string[]): { ids: number[][]; mask: number[][] } {
    const rows = texts.map((t) => this.encode(t));
    const len = Math.max(...rows.map((r) => r.length));
    return {
      ids: rows.map((r) => [...r, ...Array<number>(len - r.length).fill(PAD)]),
      mask: rows.map((r) => r.map(() => 1).concat(Array<number>(len - r.length).fill(0))),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Losses.

function int2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
}

/** One masked-LM batch: inputs with `[MASK]` at ~15% of the word positions (≥ 1 per row), targets, loss weights. */
export interface MlmBatch {
  readonly inputs: ModelInputs;
  /** Original ids `[batch, seq]`. */
  readonly targets: tf.Tensor2D;
  /** 1 at masked positions `[batch, seq]`. */
  readonly weights: tf.Tensor2D;
}

/** Mask a batch (every masked position becomes `[MASK]`; the reference's 80/10/10 rule is left out for brevity). */
export function maskBatch(ids: number[][], mask: number[][], rng: Rng, rate = 0.15): MlmBatch {
  const masked = ids.map((r) => [...r]);
  const weights = ids.map((r) => r.map(() => 0));
  ids.forEach((row, b) => {
    const words = row.flatMap((id, i) => (id > MASK ? [i] : []));
    const chosen = words.filter(() => rng.next() < rate);
    if (chosen.length === 0) chosen.push(words[Math.floor(rng.next() * words.length)]!);
    for (const i of chosen) {
      masked[b]![i] = MASK;
      weights[b]![i] = 1;
    }
  });
  return {
    inputs: { inputIds: int2d(masked), attentionMask: int2d(mask) },
    targets: int2d(ids),
    weights: tf.tensor2d(weights, [weights.length, weights[0]!.length], 'float32'),
  };
}

/** Free the tensors of an MLM batch. */
export function disposeMlmBatch(b: MlmBatch): void {
  tf.dispose([b.inputs.inputIds, b.inputs.attentionMask!, b.targets, b.weights]);
}

/**
 * WORKAROUND, until core can run a model-level hook point outside a host forward (the needed API:
 * `AdapterModel.runHook('head.input', hidden)`, running the active setup's `head.input` chain as a host does): the
 * BERT host has no LM head, so it never calls `head.input`, and we build the MLM head ourselves. This applies the
 * `head.input` handler of the setup's first adapter (the language adapter: its inverse invertible adapter) through
 * the adapter entry's method instance, as the reference's `invertible_adapters_forward(rev=True)` does.
 */
function headInput(model: AdapterModel, firstAdapter: string, hidden: tf.Tensor3D): tf.Tensor3D {
  const state: BottleneckForwardState = { first: true };
  const [batchSize, seqLength] = hidden.shape;
  let h = hidden;
  for (const member of model.requireAdapter(firstAdapter).members) {
    const handler = member.instance.handlers['head.input']?.(-1);
    if (handler) h = handler(h, (x) => x, { layer: -1, adapter: firstAdapter, state, forward: { batchSize, seqLength, training: false } });
  }
  return h;
}

/**
 * Masked-LM loss of the model with language adapter `lang` active: logits = inverse-invertible(hidden) · Eᵀ (the
 * LM head tied to the frozen word embeddings), cross-entropy averaged over masked positions. Scalar.
 */
export function mlmLoss(model: AdapterModel, lang: string, batch: MlmBatch): tf.Scalar {
  const out = model.forward(batch.inputs);
  const h = headInput(model, lang, out.lastHiddenState);
  const logits = linear(h, tf.transpose(model.host.wordEmbeddings) as tf.Tensor2D);
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(batch.targets, model.info.vocabSize)), -1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, batch.weights))), tf.sum(batch.weights)) as tf.Scalar;
}

/** A linear classification head on the mean of the unpadded hidden states. */
export interface ClassifierHead {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;
}

/** Class logits `[batch, classes]` of the active setup. */
export function classify(model: AdapterModel, head: ClassifierHead, inputs: ModelInputs): tf.Tensor2D {
  const h = model.forward(inputs).lastHiddenState;
  const m = tf.expandDims(tf.cast(inputs.attentionMask!, 'float32'), 2);
  const pooled = tf.div(tf.sum(tf.mul(h, m), 1), tf.sum(m, 1)) as tf.Tensor2D;
  return linear(pooled, head.weight, head.bias);
}

/** Mean cross-entropy of the classifier. Scalar. */
export function classificationLoss(model: AdapterModel, head: ClassifierHead, inputs: ModelInputs, labels: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(classify(model, head, inputs));
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(labels, head.bias.shape[0])), 1))) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------------------------
// Training loop (plain Adam on the trainable variables; the training harness does this with more care).

/** `steps` Adam steps on `vars()`; tensors made inside `loss` are freed after each step (variableGrads tidies them). */
function train(steps: number, lr: number, vars: () => tf.Variable[], loss: () => tf.Scalar): number[] {
  const opt = tf.train.adam(lr);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(loss, vars());
    opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
    losses.push(value.dataSync()[0]!);
    tf.dispose([value, ...Object.values(grads)]);
  }
  opt.dispose();
  return losses;
}

/** A trainable variable initialised from `t` (which it disposes). */
function trainableFrom(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Options of {@link runMadX}. */
export interface MadXOptions {
  readonly mlmSteps?: number;
  readonly taskSteps?: number;
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

/** What {@link runMadX} measured. */
export interface MadXResult {
  readonly vocabSize: number;
  /** Masked-LM loss per step, per language adapter. */
  readonly mlmLosses: Readonly<Record<'en' | 'xx', number[]>>;
  /** Masked-LM loss on fixed held-out masks, before and after training, per language adapter. */
  readonly mlmEval: Readonly<Record<'en' | 'xx', { before: number; after: number }>>;
  /** Task loss per step (English, `Stack('en', 'task')`). */
  readonly taskLosses: number[];
  /** Task loss and accuracy on English and, zero-shot after the swap, on the cipher language. */
  readonly taskEval: Readonly<Record<'en' | 'xx', { loss: number; accuracy: number }>>;
  /** The adapter table while the task trained: `en` and `task` active, only `task` trainable. */
  readonly taskPhaseSummary: readonly AdapterSummaryRow[];
  /** Number of parameters of each adapter. */
  readonly adapterParams: Readonly<Record<string, number>>;
}

/** Run the MAD-X workflow described at the top of this file. */
export async function runMadX(options: MadXOptions = {}): Promise<MadXResult> {
  const log = options.log ?? (() => undefined);
  const mlmSteps = options.mlmSteps ?? 60;
  const taskSteps = options.taskSteps ?? 60;
  const seed = options.seed ?? 7;
  await registerTrainingSupport(); // gradient functions (tfjs-core alone registers none)

  const english = CORPUS.map(([t]) => t);
  const cipher = english.map(toCipher);
  const tokenizer = new WordTokenizer([...english, ...cipher]);
  const vocabSize = 200;
  if (tokenizer.vocab.length > vocabSize) throw new Error(`corpus vocabulary ${tokenizer.vocab.length} exceeds the model's ${vocabSize}`);

  const host = initHost(
    {
      model_type: 'bert',
      vocab_size: vocabSize,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      max_position_embeddings: 64,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
    },
    seed,
  );
  const model = new AdapterModel(host, { methods: [...bottleneckPlugins, ...invertiblePlugins], seed });
  const rng = new Rng(seed);
  const data = { en: tokenizer.batch(english), xx: tokenizer.batch(cipher) };

  try {
    // 1. Language adapters: masked LM on each language, only the language adapter trains.
    const mlmLosses = { en: [] as number[], xx: [] as number[] };
    const mlmEval = {} as Record<'en' | 'xx', { before: number; after: number }>;
    for (const lang of ['en', 'xx'] as const) {
      model.addAdapter(lang, 'pfeiffer+inv');
      model.trainAdapter(lang);
      const { ids, mask } = data[lang];
      const held = maskBatch(ids, mask, new Rng(seed + 1000));
      const evaluate = (): number => tf.tidy(() => mlmLoss(model, lang, held).dataSync()[0]!);
      const before = evaluate();
      // A fresh masking each step; its tensors are made inside the step's tidy and go with it.
      mlmLosses[lang] = train(mlmSteps, 1e-2, () => model.trainableVariables(), () => mlmLoss(model, lang, maskBatch(ids, mask, rng)));
      mlmEval[lang] = { before, after: evaluate() };
      disposeMlmBatch(held);
      log(`language adapter '${lang}': masked-LM loss ${before.toFixed(3)} → ${mlmEval[lang].after.toFixed(3)} (held-out masks)`);
    }

    // 2. Task adapter on English, stacked on the English language adapter; only the task adapter and head train.
    model.addAdapter('task', 'pfeiffer');
    model.trainAdapter('task');
    model.setActiveAdapters(Stack('en', 'task'));
    const head: ClassifierHead = {
      weight: trainableFrom(init.normal(new Rng(seed + 1), [32, 2], 0.02)) as tf.Variable<tf.Rank.R2>,
      bias: trainableFrom(tf.zeros([2])) as tf.Variable<tf.Rank.R1>,
    };
    const labels = tf.tensor1d(CORPUS.map(([, y]) => y), 'int32');
    const inputsOf = (lang: 'en' | 'xx'): ModelInputs => ({ inputIds: int2d(data[lang].ids), attentionMask: int2d(data[lang].mask) });
    const enInputs = inputsOf('en');
    const xxInputs = inputsOf('xx');
    try {
      const taskLosses = train(taskSteps, 1e-2, () => [...model.trainableVariables(), head.weight, head.bias], () =>
        classificationLoss(model, head, enInputs, labels),
      );
      const evaluate = (inputs: ModelInputs): { loss: number; accuracy: number } =>
        tf.tidy(() => {
          const loss = classificationLoss(model, head, inputs, labels).dataSync()[0]!;
          const predicted = tf.argMax(classify(model, head, inputs), 1);
          const accuracy = tf.mean(tf.cast(tf.equal(predicted, labels), 'float32')).dataSync()[0]!;
          return { loss, accuracy };
        });
      const taskPhaseSummary = model.adapterSummary();
      const en = evaluate(enInputs);
      log(`task adapter on Stack('en', 'task'): loss ${taskLosses[0]!.toFixed(3)} → ${taskLosses[taskLosses.length - 1]!.toFixed(3)}, accuracy ${en.accuracy.toFixed(2)}`);

      // 3. Zero-shot transfer: swap the language adapter under the same task adapter.
      model.setActiveAdapters(Stack('xx', 'task'));
      const xx = evaluate(xxInputs);
      log(`zero-shot on Stack('xx', 'task'): loss ${xx.loss.toFixed(3)}, accuracy ${xx.accuracy.toFixed(2)} (random base model: no transfer expected)`);

      const adapterParams = Object.fromEntries(model.adapterSummary().map((r) => [r.name, r.numParams]));
      return { vocabSize: tokenizer.vocab.length, mlmLosses, mlmEval, taskLosses, taskEval: { en, xx }, taskPhaseSummary, adapterParams };
    } finally {
      tf.dispose([head.weight, head.bias, labels, enInputs.inputIds, enInputs.attentionMask!, xxInputs.inputIds, xxInputs.attentionMask!]);
    }
  } finally {
    model.dispose();
  }
}

/** Summary line of a loss curve: mean of the first and last fifth. */
export function curve(losses: readonly number[]): string {
  const k = Math.max(1, Math.floor(losses.length / 5));
  return `${mean(losses.slice(0, k)).toFixed(3)} → ${mean(losses.slice(-k)).toFixed(3)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await initBackend('cpu');
  const started = Date.now();
  const result = await runMadX({ log: (l) => console.log(l) });
  console.log(`adapters: ${Object.entries(result.adapterParams).map(([n, p]) => `${n} ${p} params`).join(', ')}`);
  console.log(`training curves: en ${curve(result.mlmLosses.en)}, xx ${curve(result.mlmLosses.xx)}, task ${curve(result.taskLosses)}`);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
