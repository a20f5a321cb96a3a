/**
 * `@adapterkit/data` for Node: everything of the browser entry (`browser.ts`: tokenizers, collators, in-memory
 * datasets) plus what reads files from disk by path (JSON Lines and CSV streams). The embedded task datasets and the
 * English corpus are in `@adapterkit/datasets`, so that this package installs without them.
 *
 * @packageDocumentation
 */
export * from './browser';
export { readLines, type NumberedLine } from './datasets/lines';
export { readJsonl, streamJsonl, type JsonlOptions } from './datasets/jsonl';
export { readCsv, streamCsv, parseCsv, CsvParser, type CsvOptions, type CsvRecord } from './datasets/csv';
