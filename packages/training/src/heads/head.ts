import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterKitError,
  AdapterStateError,
  dropout,
  getActivation,
  init,
  layerNorm,
  linear,
  ParamCollector,
  type ModelOutputs,
  type NamedParam,
  type Rng,
  type TransformerHost,
} from '@adapterkit/core';
import { bceWithLogits, crossEntropy, IGNORE_INDEX, meanSquaredError } from '../losses';
import { isLmHead, isSequenceHead, type HeadConfig } from './config';
import { headModules, hostHyper, type HeadModule } from './layout';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/** `h · Eᵀ` for a frozen embedding matrix E `[vocab, hidden]`: E is captured by closure, so no gradient is computed for it. */
function frozenTiedProjection(h: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.matMul(x as tf.Tensor2D, tf.transpose(e)),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, e),
  })) as unknown as CustomGradientFunc);
  return f(h) as tf.Tensor2D;
}

/** `x · Eᵀ` over the last axis: x `[..., hidden]`, E `[vocab, hidden]` → `[..., vocab]`. */
function tiedProjection<T extends tf.Tensor>(x: T, e: tf.Variable): T {
  const emb = e as unknown as tf.Tensor2D;
  if (e.trainable) return linear(x, tf.transpose(emb) as tf.Tensor2D);
  const hidden = x.shape[x.rank - 1]!;
  const y = frozenTiedProjection(tf.reshape(x, [-1, hidden]) as tf.Tensor2D, emb);
  return tf.reshape(y, [...x.shape.slice(0, -1), emb.shape[0]]) as T;
}

interface ModuleParams {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
}

/** Options of {@link PredictionHead.forward}. */
export interface HeadForwardOptions {
  /** Dropout on (default false). */
  readonly training?: boolean;
  /** Random source of the dropout masks; required when `training` (`forwardWithHeads` passes the forward's). */
  readonly rng?: Rng;
  /**
   * Applied to the hidden states right before an LM head's tied vocabulary projection: the model's `head.input`
   * hook (the inverse invertible adapter), `[B, S, H]` → same.
   */
  readonly headInput?: (x: tf.Tensor3D) => tf.Tensor3D;
}

/**
 * A flex prediction head in the reference's module layout. Parameters are `tf.Variable`s (trainable) under the
 * reference's keys `heads.<name>.<module index>.{weight,bias}`; Linear weights are `[in, out]` in memory and
 * `[out, in]` in files. LM heads project with the host's input embeddings (tied) plus their own bias.
 */
export class PredictionHead {
  readonly name: string;
  readonly config: HeadConfig;
  readonly modules: readonly HeadModule[];
  readonly params: ParamCollector;
  private readonly moduleParams = new Map<number, ModuleParams>();
  private readonly noDecay = new Set<string>();
  private readonly embeddings: tf.Variable;
  private readonly hasPooler: boolean;

  /**
   * Build a head on `host` and initialise it like the reference's `_init_weights`: Linear weights
   * `N(0, initializer_range²)`, biases 0, LayerNorm weight 1 / bias 0, drawn from `rng`.
   */
  constructor(name: string, config: HeadConfig, host: TransformerHost, rng: Rng) {
    this.name = name;
    this.config = config;
    const hyper = hostHyper(host);
    const hidden = host.info.hiddenSize;
    this.modules = headModules(config, hidden, hyper);
    // LM heads project with the host's output embedding: the untied LM head's where it has one, else the input embeddings.
    this.embeddings = host.lmHeadWeight ?? host.wordEmbeddings;
    this.hasPooler = (host.info as { hasPooler?: boolean }).hasPooler ?? true;
    this.params = new ParamCollector(`head:${name}`);
    try {
      for (const m of this.modules) {
        const key = `heads.${name}.${m.index}`;
        if (m.kind === 'linear') {
          const weight = this.params.add(`${key}.weight`, init.normal(rng, [m.inFeatures, m.outFeatures], hyper.initializerRange), { layout: 'linear' });
          const bias = m.bias ? this.params.add(`${key}.bias`, init.zeros([m.outFeatures])) : undefined;
          this.moduleParams.set(m.index, { weight, ...(bias ? { bias } : {}) });
        } else if (m.kind === 'tied') {
          const [vocab, embDim] = this.embeddings.shape as [number, number];
          if (vocab !== m.outFeatures || embDim !== hidden) {
            throw new AdapterKitError(
              'BAD_HEAD_CONFIG',
              `Head '${name}': vocab_size ${m.outFeatures} × hidden ${hidden} does not match the input embeddings [${vocab}, ${embDim}] it is tied to`,
            );
          }
          if (m.bias) this.moduleParams.set(m.index, { bias: this.params.add(`${key}.bias`, init.zeros([m.outFeatures])) });
        } else if (m.kind === 'layerNorm') {
          const weight = this.params.add(`${key}.weight`, init.ones([m.size]));
          const bias = this.params.add(`${key}.bias`, init.zeros([m.size]));
          this.moduleParams.set(m.index, { weight, bias });
          this.noDecay.add(`${key}.weight`);
        }
      }
    } catch (err) {
      this.params.dispose();
      throw err;
    }
  }

  /** Key of the tied LM projection weight as the reference's state dict names it (`heads.<name>.<i>.weight`), if any. */
  get tiedWeightKey(): string | undefined {
    const last = this.modules[this.modules.length - 1];
    return last?.kind === 'tied' ? `heads.${this.name}.${last.index}.weight` : undefined;
  }

  /** The host's input embeddings `[vocab, hidden]` an LM head is tied to (undefined for other heads). */
  get tiedWeight(): tf.Variable | undefined {
    return this.tiedWeightKey ? this.embeddings : undefined;
  }

  /** The head's own parameters (the tied embedding matrix is the host's, not listed). */
  list(): readonly NamedParam[] {
    return this.params.list();
  }

  /** Whether a parameter of this head is exempt from weight decay (biases and LayerNorm weights, as the reference's trainer). */
  isNoDecay(key: string): boolean {
    return key.endsWith('.bias') || this.noDecay.has(key);
  }

  /**
   * What the head reads from the model output: classification and multiple-choice heads the first token `[B, H]` (or
   * the pooler output with `usePooler`; for multiple choice B = batch·num_choices), tagging and LM heads every
   * position `[B, S, H]`.
   */
  input(outputs: ModelOutputs): tf.Tensor {
    const c = this.config;
    if (isSequenceHead(c.headType)) {
      if (c.usePooler) {
        if (!outputs.poolerOutput) {
          throw new AdapterKitError('NO_POOLER', `Head '${this.name}' has use_pooler=true but the model produced no pooler output${this.hasPooler ? '' : ' (the host has no pooler)'}`);
        }
        return outputs.poolerOutput;
      }
      const h = outputs.lastHiddenState;
      return tf.reshape(tf.slice(h, [0, 0, 0], [h.shape[0], 1, h.shape[2]]), [h.shape[0], h.shape[2]]);
    }
    return outputs.lastHiddenState;
  }

  /**
   * Logits: classification `[B, num_labels]`, multiple choice `[B, num_choices]` (from model outputs of
   * `B·num_choices` rows, the choices of an example consecutive), tagging `[B, S, num_labels]`, LM `[B, S, vocab]`.
   * Dropout only when `training`. Call inside `tf.tidy` (or a gradient function); the result belongs to the caller.
   */
  forward(outputs: ModelOutputs, options: HeadForwardOptions = {}): tf.Tensor {
    const training = options.training ?? false;
    let x = this.input(outputs);
    const choices = this.config.numChoices;
    if (this.config.headType === 'multiple_choice' && x.shape[0] % choices! !== 0) {
      throw new AdapterKitError(
        'HEAD_SETUP_MISMATCH',
        `Multiple-choice head '${this.name}' has num_choices ${choices} but the model output has ${x.shape[0]} rows (expected batch·${choices}, the choices of each example flattened into consecutive rows)`,
      );
    }
    for (const m of this.modules) {
      const p = this.moduleParams.get(m.index);
      switch (m.kind) {
        case 'dropout':
          if (training) {
            if (!options.rng) throw new AdapterStateError('NO_RANDOM_SOURCE', `head '${this.name}': a training forward needs options.rng for dropout`);
            x = dropout(x, m.rate, options.rng);
          }
          break;
        case 'linear':
          x = linear(x, p!.weight as unknown as tf.Tensor2D, p!.bias as tf.Tensor1D | undefined);
          break;
        case 'activation':
          x = getActivation(m.name)(x);
          break;
        case 'layerNorm':
          x = layerNorm(x, p!.weight as unknown as tf.Tensor1D, p!.bias as unknown as tf.Tensor1D, m.eps);
          break;
        case 'tied':
          if (options.headInput) x = options.headInput(x as tf.Tensor3D);
          x = tiedProjection(x, this.embeddings);
          if (p?.bias) x = tf.add(x, p.bias);
          break;
      }
    }
    return this.config.headType === 'multiple_choice' ? tf.reshape(x, [-1, choices!]) : x;
  }

  /**
   * The reference's loss for this head type:
   * - classification: cross-entropy on integer labels `[B]`; with `num_labels` 1, MSE on float targets (regression);
   * - multi-label: BCE with logits on 0/1 targets `[B, num_labels]`;
   * - multiple choice: cross-entropy over the choices, logits `[B, num_choices]`, labels `[B]` = index of the right
   *   choice;
   * - tagging: cross-entropy over tokens with labels `[B, S]`, positions where `attentionMask` is 0 or the label is
   *   −100 ignored;
   * - LM: cross-entropy over tokens with labels `[B, S]` (−100 ignored), shifted by one for causal LM.
   */
  loss(logits: tf.Tensor, labels: tf.Tensor, attentionMask?: tf.Tensor2D): tf.Scalar {
    const c = this.config;
    return tf.tidy(() => {
      switch (c.headType) {
        case 'classification':
        case 'multiple_choice':
          if (c.numLabels === 1) return meanSquaredError(tf.reshape(logits, [-1]), tf.reshape(labels, [-1]));
          return crossEntropy(logits as tf.Tensor2D, tf.reshape(labels, [-1]) as tf.Tensor1D);
        case 'multilabel_classification':
          return bceWithLogits(logits, labels);
        case 'tagging': {
          const n = c.numLabels!;
          let lbl = tf.cast(labels, 'int32');
          if (attentionMask) lbl = tf.where(tf.equal(attentionMask, 1), lbl, tf.fill(lbl.shape, IGNORE_INDEX, 'int32'));
          return crossEntropy(tf.reshape(logits, [-1, n]) as tf.Tensor2D, tf.reshape(lbl, [-1]) as tf.Tensor1D);
        }
        case 'masked_lm':
        case 'causal_lm': {
          const v = c.vocabSize!;
          let lg = logits as tf.Tensor3D;
          let lbl = labels as tf.Tensor2D;
          if (c.shiftLabels) {
            const [b, s] = lbl.shape;
            lg = tf.slice(lg, [0, 0, 0], [b, s - 1, v]);
            lbl = tf.slice(lbl, [0, 1], [b, s - 1]);
          }
          return crossEntropy(tf.reshape(lg, [-1, v]) as tf.Tensor2D, tf.reshape(lbl, [-1]) as tf.Tensor1D);
        }
      }
    });
  }

  /** Model-output rows per example (and per label): `num_choices` for a multiple-choice head, else 1. */
  get rowsPerExample(): number {
    return this.config.headType === 'multiple_choice' ? this.config.numChoices! : 1;
  }

  /** Whether this is an LM head (tied projection). */
  get isLm(): boolean {
    return isLmHead(this.config.headType);
  }

  /** Number of the head's own scalars (the tied embedding matrix excluded). */
  numParams(): number {
    return this.params.count();
  }

  dispose(): void {
    this.params.dispose();
    this.moduleParams.clear();
  }
}
