import { AdapterConfigError, FileFormatError, getActivation } from '@adapterkit/core';

/** Head types this package implements (the reference's `head_type` values). */
export const HEAD_TYPES = ['classification', 'multilabel_classification', 'multiple_choice', 'tagging', 'masked_lm', 'causal_lm'] as const;

/** One of {@link HEAD_TYPES}. */
export type HeadType = (typeof HEAD_TYPES)[number];

/**
 * Config of a prediction head, the camelCase twin of the reference's `head_config.json` → `config` dict
 * (adapter-transformers 3.2.1 `heads/base.py`, `heads/language_modeling.py`).
 */
export interface HeadConfig {
  readonly headType: HeadType;
  /** Output classes (classification, tagging). `1` on a classification head = regression (MSE loss). */
  readonly numLabels?: number;
  /** Multiple choice: choices per example (the head scores each choice with one logit). */
  readonly numChoices?: number;
  /** Number of Linear layers (the last one projects to the labels / vocabulary). */
  readonly layers: number;
  /** HF activation name between layers, or null for none. */
  readonly activationFunction: string | null;
  /** Label name → id; the reference fills `LABEL_<i>` when none is given (LM heads keep null). */
  readonly label2id: Readonly<Record<string, number>> | null;
  /** Classification / multiple choice: use the pooler output instead of the first token's hidden state. */
  readonly usePooler?: boolean;
  /** Bias of the last Linear layer (intermediate layers always have one). Multiple choice: always true in the reference. */
  readonly bias: boolean;
  /** Dropout before each Linear; defaults to the host's `hidden_dropout_prob` (not written unless set). */
  readonly dropoutProb?: number;
  /** LM heads: output vocabulary (the host's vocabulary, tied to the input embeddings). */
  readonly vocabSize?: number;
  /** LM heads: LayerNorm after each intermediate layer's activation. */
  readonly layerNorm?: boolean;
  /** LM heads: predict token t+1 from position t (causal LM). */
  readonly shiftLabels?: boolean;
}

/** Whether a head type is a language-modelling head (last layer tied to the input embeddings). */
export function isLmHead(type: HeadType): boolean {
  return type === 'masked_lm' || type === 'causal_lm';
}

/** Whether a head reads one summary vector per sequence (first token or pooler): classification and multiple choice. */
export function isSequenceHead(type: HeadType): boolean {
  return type === 'classification' || type === 'multilabel_classification' || type === 'multiple_choice';
}

/** Number of entries of a head's label map: `num_choices` for multiple choice, else `num_labels` (undefined for LM heads). */
export function labelCount(c: HeadConfig): number | undefined {
  return c.headType === 'multiple_choice' ? c.numChoices : c.numLabels;
}

/** The reference's default label map: `{LABEL_0: 0, ..., LABEL_{n-1}: n-1}`. */
export function defaultLabel2id(numLabels: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [`LABEL_${i}`, i]));
}

/** Invert `id2label` (a list or an id → label map) into `label2id`. */
export function label2idFrom(id2label: readonly string[] | Readonly<Record<number, string>>): Record<string, number> {
  const entries: Array<[string, string]> = Array.isArray(id2label)
    ? (id2label as readonly string[]).map((l, i) => [String(i), l])
    : Object.entries(id2label as Record<string, string>);
  return Object.fromEntries(entries.map(([id, label]) => [label, Number(id)]));
}

function positiveInt(v: unknown, field: string, source: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new AdapterConfigError('BAD_HEAD_CONFIG', `${source}: '${field}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate a head config (throws AdapterConfigError naming the field). Returns it unchanged. */
export function validateHeadConfig(c: HeadConfig, source = 'head config'): HeadConfig {
  if (!(HEAD_TYPES as readonly string[]).includes(c.headType)) {
    throw new AdapterConfigError('UNSUPPORTED_HEAD_TYPE', `${source}: head_type '${c.headType}' is not supported (supported: ${HEAD_TYPES.join(', ')})`);
  }
  positiveInt(c.layers, 'layers', source);
  if (c.activationFunction !== null) getActivation(c.activationFunction);
  if (isLmHead(c.headType)) positiveInt(c.vocabSize, 'vocab_size', source);
  else if (c.headType === 'multiple_choice') positiveInt(c.numChoices, 'num_choices', source);
  else positiveInt(c.numLabels, 'num_labels', source);
  if (c.dropoutProb !== undefined && !(c.dropoutProb >= 0 && c.dropoutProb < 1)) {
    throw new AdapterConfigError('BAD_HEAD_CONFIG', `${source}: 'dropout_prob' must be in [0, 1), got ${c.dropoutProb}`);
  }
  return c;
}

/**
 * The `config` dict of `head_config.json`: exactly the keys the reference writes for the head type (plus
 * `dropout_prob` when set explicitly).
 */
export function headConfigToJson(c: HeadConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { head_type: c.headType };
  if (isLmHead(c.headType)) {
    Object.assign(out, {
      vocab_size: c.vocabSize,
      layers: c.layers,
      activation_function: c.activationFunction,
      layer_norm: c.layerNorm ?? false,
      bias: c.bias,
      shift_labels: c.shiftLabels ?? false,
      label2id: c.label2id,
    });
  } else if (c.headType === 'multiple_choice') {
    // the reference's MultipleChoiceHead has no `bias` argument (its build reads config.get("bias", True)): written only when off
    Object.assign(out, { num_choices: c.numChoices, layers: c.layers, activation_function: c.activationFunction, label2id: c.label2id, use_pooler: c.usePooler ?? false });
    if (!c.bias) out['bias'] = false;
  } else {
    Object.assign(out, { num_labels: c.numLabels, layers: c.layers, activation_function: c.activationFunction, label2id: c.label2id });
    if (c.headType !== 'tagging') Object.assign(out, { use_pooler: c.usePooler ?? false, bias: c.bias });
  }
  if (c.dropoutProb !== undefined) out['dropout_prob'] = c.dropoutProb;
  return out;
}

const KNOWN_KEYS = new Set([
  'head_type',
  'num_labels',
  'num_choices',
  'layers',
  'activation_function',
  'label2id',
  'id2label',
  'use_pooler',
  'bias',
  'dropout_prob',
  'vocab_size',
  'layer_norm',
  'shift_labels',
  'embedding_size',
]);

/**
 * Parse the `config` dict of a `head_config.json` (reference defaults fill missing keys, as the reference's head
 * constructors do; a missing `vocab_size` is the host's). `id2label` is accepted like the reference's loader (turned into
 * `label2id`).
 */
export function headConfigFromJson(dict: unknown, source: string, hostVocabSize?: number): HeadConfig {
  if (dict === null) {
    throw new FileFormatError(
      'UNSUPPORTED_HEAD',
      `${source}: "config" is null, i.e. a static head (e.g. BertForSequenceClassification); converting static heads to flex heads is not implemented yet`,
    );
  }
  if (typeof dict !== 'object' || Array.isArray(dict)) throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: "config" must be an object`);
  const d = dict as Record<string, unknown>;
  const unknown = Object.keys(d).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: unknown head config key(s) ${unknown.join(', ')}`);
  const emb = d['embedding_size'];
  // adapter-transformers 3.2.1 writes the LM heads' embedding_size (= hidden_size for the models we run); a
  // different size shows up as a shape mismatch of the head's weights when they are assigned
  if (emb !== undefined && emb !== null && !(Number.isInteger(emb) && (emb as number) > 0)) {
    throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: 'embedding_size' must be a positive integer or null`);
  }
  const type = d['head_type'];
  if (typeof type !== 'string' || !(HEAD_TYPES as readonly string[]).includes(type)) {
    throw new AdapterConfigError('UNSUPPORTED_HEAD_TYPE', `${source}: head_type ${JSON.stringify(type)} is not supported (supported: ${HEAD_TYPES.join(', ')})`);
  }
  const headType = type as HeadType;
  const lm = isLmHead(headType);
  const misplaced = headType === 'multiple_choice' ? 'num_labels' : 'num_choices';
  if (d[misplaced] !== undefined) throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: '${misplaced}' is not a field of ${headType} heads`);
  const bool = (key: string, dflt: boolean): boolean => {
    const v = d[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: '${key}' must be a boolean`);
    return v;
  };
  let label2id = (d['label2id'] ?? null) as Record<string, number> | null;
  if (d['id2label'] != null) label2id = label2idFrom(d['id2label'] as Record<number, string>);
  const act = d['activation_function'];
  if (act !== undefined && act !== null && typeof act !== 'string') throw new FileFormatError('BAD_HEAD_CONFIG', `${source}: 'activation_function' must be a string or null`);
  const defaultLayers = lm ? (headType === 'masked_lm' ? 2 : 1) : headType === 'tagging' ? 1 : 2;
  const config: HeadConfig = {
    headType,
    layers: (d['layers'] as number | undefined) ?? defaultLayers,
    activationFunction: act === undefined ? (lm ? (headType === 'masked_lm' ? 'gelu' : null) : 'tanh') : (act as string | null),
    label2id,
    bias: bool('bias', !(headType === 'causal_lm')),
    ...(lm
      ? {
          vocabSize: (d['vocab_size'] as number | null | undefined) ?? (hostVocabSize as number),
          layerNorm: bool('layer_norm', headType === 'masked_lm'),
          shiftLabels: bool('shift_labels', headType === 'causal_lm'),
        }
      : {
          ...(headType === 'multiple_choice' ? { numChoices: (d['num_choices'] as number | undefined) ?? 2 } : { numLabels: (d['num_labels'] as number | undefined) ?? 2 }),
          ...(headType === 'tagging' ? {} : { usePooler: bool('use_pooler', false) }),
        }),
    ...(d['dropout_prob'] !== undefined ? { dropoutProb: d['dropout_prob'] as number } : {}),
  };
  return validateHeadConfig(config, source);
}
