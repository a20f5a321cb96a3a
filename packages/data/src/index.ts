/**
 * `@adapterkit/data` for Node: everything of the browser entry (`browser.ts`: tokenizers, collators, in-memory
 * datasets) plus what reads files from disk by path (JSON Lines and CSV streams, the embedded datasets).
 *
 * @packageDocumentation
 */
export * from './browser';
export { readLines, type NumberedLine } from './datasets/lines';
export { readJsonl, streamJsonl, type JsonlOptions } from './datasets/jsonl';
export { readCsv, streamCsv, parseCsv, CsvParser, type CsvOptions, type CsvRecord } from './datasets/csv';
export { loadEmbeddedDataset, type EmbeddedDataset, type EmbeddedDatasetName, type EmbeddedDatasetOptions } from './embedded/datasets';
export { loadEmbeddedCorpus, SOTU_FROM_YEAR, type EmbeddedCorpus, type EmbeddedCorpusName, type EmbeddedCorpusOptions } from './embedded/corpus';
export { LANGID_LANGUAGES } from './embedded/langid';
export { SPAM_MAX_CHARS } from './embedded/spam';
export { emailToText } from './embedded/email';
