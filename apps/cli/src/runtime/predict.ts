import * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel, ModelInputs } from '@adapterkit/core';
import type { Tokenizer } from '@adapterkit/data';
import { maxSequenceLength } from '@adapterkit/models';
import { forwardWithHeads, getHeads } from '@adapterkit/training';
import { CliError } from '../cli/errors';
import { encodeWords } from './encode';
import { headLabels } from './heads';
import { hostOf } from './limits';

/** Settings shared by the predictors. */
export interface PredictOptions {
  readonly head: string;
  readonly maxLength: number;
  readonly batchSize: number;
  /** Pass token type ids (false for GPT-2). */
  readonly tokenTypes: boolean;
  /** Causal LM: tokens to generate per prompt. */
  readonly maxNewTokens: number;
}

/** LM logits `[B, S, V]` restricted to the ids the tokenizer knows (a model's vocabulary may be larger). */
function knownIds(logits: tf.Tensor, tokenizer: Tokenizer): tf.Tensor3D {
  return tf.slice(logits, [0, 0, 0], [-1, -1, Math.min(tokenizer.vocabSize, logits.shape[2]!)]) as tf.Tensor3D;
}

function toInputs(rows: { inputIds: number[][]; attentionMask: number[][]; tokenTypeIds: number[][] }, tokenTypes: boolean): ModelInputs {
  const t = (m: number[][]): tf.Tensor2D => tf.tensor2d(m, [m.length, m[0]!.length], 'int32');
  return { inputIds: t(rows.inputIds), attentionMask: t(rows.attentionMask), ...(tokenTypes ? { tokenTypeIds: t(rows.tokenTypeIds) } : {}) };
}

/** A line of input: a text, or `text<TAB>pair` for pair tasks. */
function textOf(line: string): string | [string, string] {
  const tab = line.indexOf('\t');
  return tab < 0 ? line : [line.slice(0, tab), line.slice(tab + 1)];
}

/** An input echoed as the last column: tabs and line breaks escaped, so that every result stays one line. */
export function echo(line: string): string {
  return line.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\r?\n/g, '\\n');
}

/**
 * Classification: `label<TAB>probability<TAB>input` per text (multi-label: every label above 0.5; regression: the
 * value), the input echoed ({@link echo}).
 */
function classify(model: AdapterModel, tokenizer: Tokenizer, texts: readonly string[], o: PredictOptions): string[] {
  const config = getHeads(model).require(o.head).config;
  const labels = headLabels(model, o.head);
  const out: string[] = [];
  for (let start = 0; start < texts.length; start += o.batchSize) {
    const batch = tokenizer.encodeBatch(texts.slice(start, start + o.batchSize).map(textOf), { maxLength: o.maxLength, truncation: true });
    const rows = tf.tidy(() => {
      const { logits } = forwardWithHeads(model, toInputs(batch, o.tokenTypes), { head: o.head });
      if (config.numLabels === 1 && config.headType === 'classification') return logits.arraySync() as number[][];
      return (config.headType === 'multilabel_classification' ? tf.sigmoid(logits) : tf.softmax(logits)).arraySync() as number[][];
    });
    rows.forEach((p, k) => {
      const input = echo(texts[start + k]!);
      if (config.numLabels === 1 && config.headType === 'classification') out.push(`${p[0]!.toFixed(4)}\t${input}`);
      else if (config.headType === 'multilabel_classification') {
        const on = p.flatMap((v, i) => (v > 0.5 ? [`${labels[i]}:${v.toFixed(4)}`] : []));
        out.push(`${on.length ? on.join(',') : '-'}\t${input}`);
      } else {
        const best = p.reduce((b, v, i) => (v > p[b]! ? i : b), 0);
        out.push(`${labels[best]}\t${p[best]!.toFixed(4)}\t${input}`);
      }
    });
  }
  return out;
}

/** Tagging: `word/TAG` for each whitespace-separated word (words cut off by `maxLength` get `/?`). */
function tag(model: AdapterModel, tokenizer: Tokenizer, texts: readonly string[], o: PredictOptions): string[] {
  const labels = headLabels(model, o.head);
  return texts.map((line) => {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) return '';
    const { ids, wordStarts } = encodeWords(tokenizer, words, o.maxLength);
    const preds = tf.tidy(() => {
      const row = { inputIds: [ids], attentionMask: [ids.map(() => 1)], tokenTypeIds: [ids.map(() => 0)] };
      return tf.argMax(forwardWithHeads(model, toInputs(row, o.tokenTypes), { head: o.head }).logits, -1).arraySync() as number[][];
    });
    return words.map((w, k) => `${w}/${wordStarts[k]! >= 0 ? labels[preds[0]![wordStarts[k]!]!] : '?'}`).join(' ');
  });
}

/** Masked LM: the text with every mask token replaced by the most likely token (with its probability). */
function fillMasks(model: AdapterModel, tokenizer: Tokenizer, texts: readonly string[], o: PredictOptions): string[] {
  const mask = tokenizer.maskTokenId;
  return texts.map((line) => {
    const e = tokenizer.encode(line, null, { maxLength: o.maxLength, truncation: true });
    const positions = e.ids.flatMap((id, j) => (id === mask ? [j] : []));
    if (positions.length === 0) return `${line}\t(no ${mask === undefined ? 'mask token' : tokenizer.idToToken(mask)} to fill)`;
    const filled = [...e.ids];
    const probs: string[] = [];
    tf.tidy(() => {
      const row = { inputIds: [e.ids], attentionMask: [e.attentionMask], tokenTypeIds: [e.tokenTypeIds] };
      const p = tf.softmax(knownIds(forwardWithHeads(model, toInputs(row, o.tokenTypes), { head: o.head }).logits, tokenizer));
      const best = tf.argMax(p, -1).arraySync() as number[][];
      const top = tf.max(p, -1).arraySync() as number[][];
      for (const j of positions) {
        filled[j] = best[0]![j]!;
        probs.push(`${tokenizer.idToToken(filled[j]!)}:${top[0]![j]!.toFixed(4)}`);
      }
    });
    return `${tokenizer.decode(filled)}\t${probs.join(' ')}`;
  });
}

/**
 * Causal LM: greedy decoding of up to `maxNewTokens` tokens after each prompt (stopping at the end-of-sequence
 * token), re-running the whole sequence each step (no key/value cache).
 */
function generate(model: AdapterModel, tokenizer: Tokenizer, texts: readonly string[], o: PredictOptions): string[] {
  const eos = tokenizer.eosTokenId;
  const limit = maxSequenceLength(hostOf(model).config);
  return texts.map((prompt) => {
    const ids = tokenizer.encode(prompt, null, { maxLength: o.maxLength, truncation: true }).ids;
    if (ids.length === 0 && tokenizer.bosTokenId !== undefined) ids.push(tokenizer.bosTokenId);
    if (ids.length === 0) return prompt;
    const start = ids.length;
    for (let k = 0; k < o.maxNewTokens && ids.length < limit; k++) {
      const next = tf.tidy(() => {
        const row = { inputIds: [ids], attentionMask: [ids.map(() => 1)], tokenTypeIds: [ids.map(() => 0)] };
        const logits = knownIds(forwardWithHeads(model, toInputs(row, o.tokenTypes), { head: o.head }).logits, tokenizer);
        const last = tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1]);
        return tf.argMax(tf.reshape(last, [-1])).dataSync()[0]!;
      });
      ids.push(next);
      if (next === eos) break;
    }
    return `${prompt}${tokenizer.decode(ids.slice(start))}`;
  });
}

/** Predict one output line per input line with the head's kind of prediction. */
export function predictLines(model: AdapterModel, tokenizer: Tokenizer, lines: readonly string[], o: PredictOptions): string[] {
  const type = getHeads(model).require(o.head).config.headType;
  switch (type) {
    case 'classification':
    case 'multilabel_classification':
      return classify(model, tokenizer, lines, o);
    case 'tagging':
      return tag(model, tokenizer, lines, o);
    case 'masked_lm':
      return fillMasks(model, tokenizer, lines, o);
    case 'causal_lm':
      return generate(model, tokenizer, lines, o);
    case 'multiple_choice':
      throw new CliError(`predict does not support ${type} heads (one line holds one text, not a set of choices)`);
  }
}
