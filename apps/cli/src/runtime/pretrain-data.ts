import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { suggestNearest } from '@adapterkit/core';
import { readLines } from '@adapterkit/data';
import { loadEmbeddedCorpus, SOTU_FROM_YEAR, type EmbeddedCorpusName } from '@adapterkit/datasets';
import { CliError } from '../cli/errors';
import type { CardCorpus } from './model-card';

const CORPORA = ['english', 'moby-dick', 'sotu'] as const;

/** What each embedded corpus holds, for the model card. */
const EMBEDDED_TITLES: Record<EmbeddedCorpusName, { readonly title: string; readonly about: string }> = {
  english: {
    title: `Melville's *Moby-Dick* and the US State of the Union addresses ${SOTU_FROM_YEAR}–2021`,
    about: 'the English corpus embedded in `@adapterkit/datasets`',
  },
  'moby-dick': { title: "Melville's *Moby-Dick*", about: "Melville's *Moby-Dick* (embedded in `@adapterkit/datasets`)" },
  sotu: {
    title: `the US State of the Union addresses ${SOTU_FROM_YEAR}–2021`,
    about: `the US State of the Union addresses ${SOTU_FROM_YEAR}–2021 (embedded in \`@adapterkit/datasets\`)`,
  },
};

/** A pre-training corpus: its passages and what the model card says about it. */
export interface Corpus extends CardCorpus {
  /** `--corpus` as given. */
  readonly spec: string;
  readonly texts: readonly string[];
  readonly chars: number;
}

/**
 * `embedded:english` (or `moby-dick`, `sotu`: passages of ≤ 1000 characters from `@adapterkit/datasets`), or a text file
 * (one passage per non-empty line, at least 2).
 */
export async function loadCorpus(spec: string, cwd: string): Promise<Corpus> {
  if (spec.startsWith('embedded:')) {
    const name = spec.slice('embedded:'.length);
    if (!(CORPORA as readonly string[]).includes(name)) {
      const near = suggestNearest(name, CORPORA);
      throw new CliError(`--corpus ${spec}: unknown embedded corpus${near ? ` (did you mean 'embedded:${near}'?)` : ''}; available: ${CORPORA.map((c) => `embedded:${c}`).join(', ')}`);
    }
    const c = await loadEmbeddedCorpus(name as EmbeddedCorpusName);
    const { title, about } = EMBEDDED_TITLES[name as EmbeddedCorpusName];
    const sources = c.sources.map((s) => `\`${s.package}\` (${s.license})`).join(', ');
    const row = `\`loadEmbeddedCorpus('${name}')\`: ${title}, ${c.texts.length} passages of ≤ 1000 characters, ${c.chars.toLocaleString('en-US')} characters; from ${sources}`;
    return { spec, texts: c.texts, chars: c.chars, about, row, embedded: true };
  }
  const path = resolve(cwd, spec);
  if (!existsSync(path)) throw new CliError(`--corpus ${spec}: no such file (or use embedded:english)`);
  if (!statSync(path).isFile()) throw new CliError(`--corpus ${spec}: not a file`);
  const texts: string[] = [];
  for await (const { line } of readLines(path)) if (line.trim() !== '') texts.push(line);
  if (texts.length < 2) throw new CliError(`--corpus ${spec}: needs at least 2 non-empty lines (one is held out)`);
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const row = `\`${spec}\`: ${texts.length} passages (one per non-empty line), ${chars.toLocaleString('en-US')} characters`;
  return { spec, texts, chars, about: `\`${spec}\``, row, embedded: false };
}
