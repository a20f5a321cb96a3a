/**
 * `@adapterkit/bert-mini`: AdapterKit's embedded base model, `adapterkit-bert-mini`, as an installable package.
 *
 * A Hugging Face `BertForMaskedLM` folder (`config.json`, `model.safetensors`, `tokenizer.json`, `vocab.txt`, …):
 * BERT with 4 layers, hidden 256, 4 heads, FFN 1024, 128 positions, a WordPiece vocabulary of 8000 tokens; 5.24 M
 * parameters, 21 MB. Pre-trained from scratch by this repository (recipe and figures: the model card,
 * `model/README.md`). This package only locates the folder (no dependencies at run time); load it with
 * `loadEmbedded()` from `@adapterkit/pipelines`, or with `loadHost(embeddedModelDir())` (`@adapterkit/models`) and
 * `loadTokenizer(embeddedModelDir())` (`@adapterkit/data`). The CLI's `--model embedded` resolves to it.
 *
 * In browsers the files are served statically by the page (the playground copies them to `model/`); use
 * {@link embeddedModelUrl} only where the bundler keeps this module next to its `model/` folder.
 *
 * @packageDocumentation
 */
import { AdapterKitError } from '@adapterkit/core';

/** The model's name (its Hub-style folder name). */
export const EMBEDDED_MODEL_NAME = 'adapterkit-bert-mini';

/** The files of the model folder that loading the model and its tokenizer reads. */
export const EMBEDDED_MODEL_FILES: readonly string[] = Object.freeze([
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
]);

/**
 * The model folder as a URL ending in `/`: `file:` in Node (from the sources, `packages/bert-mini/model/`; from
 * the build, `dist/model/`, which the build copies there).
 */
export function embeddedModelUrl(): URL {
  return new URL('../model/', import.meta.url);
}

/**
 * The model folder as a local path (Node). Throws `AdapterKitError` `EMBEDDED_MODEL_NOT_LOCAL` where this module
 * was not loaded from a `file:` URL (a browser bundle: serve the files and load them by URL instead).
 */
export function embeddedModelDir(): string {
  const url = embeddedModelUrl();
  if (url.protocol !== 'file:') {
    throw new AdapterKitError('EMBEDDED_MODEL_NOT_LOCAL', `@adapterkit/bert-mini was loaded from ${url.href}, not from a local file: serve its files (${EMBEDDED_MODEL_FILES.join(', ')}) and load the model by URL`);
  }
  // fileURLToPath without `node:url`, so browser bundles of this module import no Node builtin.
  const path = decodeURIComponent(url.pathname);
  const windows = /^\/[A-Za-z]:\//.test(path);
  return windows ? path.slice(1).replaceAll('/', '\\').replace(/\\$/, '') : path.replace(/\/$/, '');
}
