import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { suggestNearest } from '@adapterkit/core';
import { loadEmbeddedCorpus, readLines, type EmbeddedCorpusName, type Tokenizer } from '@adapterkit/data';
import type { Example } from '@adapterkit/training';
import { CliError } from '../cli/errors';
import { maskedExamples } from './encode';

const CORPORA = ['english', 'moby-dick', 'sotu'] as const;

/** A pre-training corpus: its texts and a description for the model card. */
export interface Corpus {
  readonly texts: readonly string[];
  readonly description: string;
}

/** `embedded:english` (or `moby-dick`, `sotu`) from `@adapterkit/data`, or a text file (one passage per non-empty line). */
export async function loadCorpus(spec: string, cwd: string): Promise<Corpus> {
  if (spec.startsWith('embedded:')) {
    const name = spec.slice('embedded:'.length);
    if (!(CORPORA as readonly string[]).includes(name)) {
      const near = suggestNearest(name, CORPORA);
      throw new CliError(`--corpus ${spec}: unknown embedded corpus${near ? ` (did you mean 'embedded:${near}'?)` : ''}; available: ${CORPORA.map((c) => `embedded:${c}`).join(', ')}`);
    }
    const c = await loadEmbeddedCorpus(name as EmbeddedCorpusName);
    const sources = c.sources.map((s) => `${s.package} (${s.license})`).join('; ');
    return { texts: c.texts, description: `embedded corpus \`${name}\`: ${c.texts.length} passages, ${c.chars.toLocaleString('en-US')} characters, from ${sources}` };
  }
  const path = resolve(cwd, spec);
  if (!existsSync(path)) throw new CliError(`--corpus ${spec}: no such file (or use embedded:english)`);
  if (!statSync(path).isFile()) throw new CliError(`--corpus ${spec}: not a file`);
  const texts: string[] = [];
  for await (const { line } of readLines(path)) if (line.trim() !== '') texts.push(line);
  if (texts.length < 2) throw new CliError(`--corpus ${spec}: needs at least 2 non-empty lines (one is held out)`);
  const chars = texts.reduce((n, t) => n + t.length, 0);
  return { texts, description: `\`${spec}\`: ${texts.length} lines, ${chars.toLocaleString('en-US')} characters` };
}

/**
 * Tokenize texts (no special tokens), concatenate them and cut the stream into `[CLS] … [SEP]` sequences of
 * `maxLength` tokens (the last one shorter), as transformers' `run_mlm.py` groups texts.
 */
export function packSequences(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): number[][] {
  const cls = tokenizer.clsTokenId;
  const sep = tokenizer.sepTokenId;
  if (cls === undefined || sep === undefined) throw new CliError('pre-training needs a tokenizer with [CLS] and [SEP] tokens');
  const body = maxLength - 2;
  const out: number[][] = [];
  let cur: number[] = [];
  for (const t of texts) {
    for (const id of tokenizer.encode(t, null, { addSpecialTokens: false }).ids) {
      cur.push(id);
      if (cur.length === body) {
        out.push([cls, ...cur, sep]);
        cur = [];
      }
    }
  }
  if (cur.length > 0) out.push([cls, ...cur, sep]);
  return out;
}

/**
 * Masked-LM examples from packed sequences: `copies` differently masked copies (BERT's "duplication factor", so
 * repeated epochs see new masks), each with BERT's 80/10/10 masking of 15 % of the tokens.
 */
export function maskedCopies(tokenizer: Tokenizer, sequences: readonly number[][], copies: number, seed: number): Example[] {
  const special = sequences.map((s) => s.map((id) => (tokenizer.specialIds.has(id) ? 1 : 0)));
  const types = sequences.map((s) => s.map(() => 0));
  const out: Example[] = [];
  for (let k = 0; k < copies; k++) out.push(...maskedExamples(tokenizer, sequences, special, types, seed + 1000 * k));
  return out;
}
