/**
 * The model side of `adapterkit pretrain`: the BERT config it writes, its weights in `BertForMaskedLM`'s layout
 * (`bert.*` without the pooler, plus `cls.predictions.*`), and the `--init` folder a new phase continues from.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fromFileLayout, readSafetensors, tensorEntryToTf, toFileLayout, type AdapterModel, type NamedParam } from '@adapterkit/core';
import { loadTokenizer, type Tokenizer } from '@adapterkit/data';
import { loadHost, type ModelHost } from '@adapterkit/models';
import { getHeads, type PredictionHead } from '@adapterkit/training';
import { CliError } from '../cli/errors';
import { hostOf } from './limits';
import { PRETRAINING_FILE, type Phase } from './model-card';
import { tensorsToSafetensors } from './model-files';
import { MLM_HEAD } from './pretrain-recipe';

/** Architecture of a BERT built from scratch. */
export interface BertShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  /** Positions (`max_position_embeddings`), also the length of the training sequences. */
  readonly maxLength: number;
}

/** The embedded model's shape (`packages/bert-mini/model`), the defaults of `adapterkit pretrain`. */
export const EMBEDDED_SHAPE = { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocabSize: 8000, maxLength: 128 } as const;

/**
 * transformers' `config.json` of a `BertForMaskedLM` of `shape` (BertConfig's defaults otherwise, as transformers
 * 4.26 writes them). Dropout stays 0.1 for fine-tuning; pre-training runs without it.
 */
export function bertConfig(shape: BertShape, vocabSize: number, padTokenId: number): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hidden,
    initializer_range: 0.02,
    intermediate_size: shape.intermediate,
    layer_norm_eps: 1e-12,
    max_position_embeddings: shape.maxLength,
    model_type: 'bert',
    num_attention_heads: shape.heads,
    num_hidden_layers: shape.layers,
    pad_token_id: padTokenId,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    transformers_version: '4.26.0',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: vocabSize,
  };
}

/**
 * `BertForMaskedLM`'s state-dict name of a parameter of the MLM head: module 0 (Linear) →
 * `cls.predictions.transform.dense`, 2 (LayerNorm) → `cls.predictions.transform.LayerNorm`, the tied decoder's bias →
 * `cls.predictions.bias` (its weight is the word embeddings, not written, as transformers ties it on load).
 */
export function headFileKey(head: PredictionHead, p: NamedParam): string {
  const names: Record<string, string> = { linear: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', tied: 'cls.predictions' };
  const m = /\.(\d+)\.(weight|bias)$/.exec(p.key);
  const kind = m ? head.modules.find((mod) => mod.index === Number(m[1]))?.kind : undefined;
  if (!m || !kind || !names[kind]) throw new CliError(`unexpected masked-LM head parameter ${p.key}`);
  return `${names[kind]}.${m[2]}`;
}

/** Parameters of the host without the pooler (which masked-LM pre-training leaves untrained and does not save). */
export function countParameters(model: AdapterModel): number {
  return [...model.host.parameters].filter(([name]) => !name.startsWith('pooler.')).reduce((n, [, v]) => n + v.size, 0);
}

/** Every weight under `BertForMaskedLM`'s state-dict names (file layout), without the untrained pooler. */
export function exportPretrainedWeights(model: AdapterModel): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, t] of hostOf(model).exportWeights('bert.')) {
    if (k.startsWith('bert.pooler.')) t.dispose();
    else out.set(k, t);
  }
  const head = getHeads(model).require(MLM_HEAD);
  for (const p of head.list()) out.set(headFileKey(head, p), toFileLayout(p));
  return out;
}

/**
 * `model.safetensors` of the model: {@link exportPretrainedWeights} serialised (keys sorted, `{"format": "pt"}`
 * metadata, as transformers' `save_pretrained` writes it).
 */
export async function pretrainedWeightsFile(model: AdapterModel): Promise<Uint8Array> {
  return tensorsToSafetensors(exportPretrainedWeights(model));
}

/** Set the MLM head's parameters from a `BertForMaskedLM` folder's `model.safetensors` (`cls.predictions.*`). */
export async function loadMlmHead(model: AdapterModel, dir: string, what = dir): Promise<void> {
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  const head = getHeads(model).require(MLM_HEAD);
  for (const p of head.list()) {
    const entry = tensors.get(headFileKey(head, p));
    if (!entry) throw new CliError(`${what}: model.safetensors has no ${headFileKey(head, p)} (not a masked-LM model written by 'adapterkit pretrain')`);
    const t = fromFileLayout(p.layout, tensorEntryToTf(entry));
    p.variable.assign(t);
    t.dispose();
  }
}

/** A model folder a new pre-training phase continues from (`--init`). */
export interface InitFolder {
  readonly config: Record<string, unknown>;
  /** Its positions: the sequence length of the new phase. */
  readonly maxLength: number;
  readonly tokenizer: Tokenizer;
  readonly host: ModelHost;
  /** The phases that built it (its `pretraining.json`). */
  readonly phases: readonly Phase[];
}

/**
 * Read the `--init` folder (written by `adapterkit pretrain`): its config, tokenizer, encoder weights and phases. The
 * MLM head is loaded with {@link loadMlmHead} once it exists. Problems are one-line {@link CliError}s.
 */
export async function readInitFolder(dir: string, what: string): Promise<InitFolder> {
  if (!existsSync(dir)) throw new CliError(`${what}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new CliError(`${what}: not a directory`);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', PRETRAINING_FILE]) {
    if (!existsSync(join(dir, f))) throw new CliError(`${what}: no ${f} (not a model folder written by 'adapterkit pretrain')`);
  }
  const json = (f: string): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`${what}/${f}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
    }
  };
  const config = json('config.json');
  const maxLength = config['max_position_embeddings'];
  if (config['model_type'] !== 'bert' || typeof maxLength !== 'number') throw new CliError(`${what}/config.json: not a BERT config with max_position_embeddings`);
  const phases = (json(PRETRAINING_FILE) as { phases?: Phase[] }).phases;
  if (!Array.isArray(phases) || phases.length === 0) throw new CliError(`${what}/${PRETRAINING_FILE}: no "phases"`);
  const tokenizer = await loadTokenizer(dir);
  const host = await loadHost(dir);
  return { config, maxLength, tokenizer, host, phases };
}
