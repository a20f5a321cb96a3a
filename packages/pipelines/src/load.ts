import { AdapterKitError, AdapterModel, toSource, urlSource, type AnyAdapterMethod, type FileSource, type SourceInput } from '@adapterkit/core';
import type { MethodExtension } from '@adapterkit/core';
import { EMBEDDED_MODEL_FILES, EMBEDDED_MODEL_NAME, embeddedModelDir } from '@adapterkit/bert-mini';
import { loadTokenizer, type Tokenizer, type TokenizerOptions } from '@adapterkit/data';
import { loadHost } from '@adapterkit/models';
import { ALL_METHODS } from './methods';

/** The Hugging Face Hub, the default endpoint for Hub ids. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** Options of {@link loadPretrained} / {@link loadEmbedded}. */
export interface LoadPretrainedOptions {
  /**
   * Adapter methods (and extensions) installed in the model. Default: every method of the AdapterKit packages
   * (bottleneck, Compacter, invertible, LoRA & co., prefix tuning, prompt tuning, ReFT, unions), so any saved
   * adapter loads.
   */
  readonly methods?: ReadonlyArray<AnyAdapterMethod | MethodExtension>;
  /** Seed of the initialisation of adapters added to the model (default 42). */
  readonly seed?: number;
  /** Library warnings (e.g. a method that registers nothing on this host); default: none. */
  readonly warn?: (message: string) => void;
  /** Tokenizer options (special-token overrides). */
  readonly tokenizer?: TokenizerOptions;
  /** Hub to read Hub ids from (default {@link DEFAULT_HUB_ENDPOINT}). */
  readonly hubEndpoint?: string;
  /** Hub revision (branch, tag or commit; default `main`). */
  readonly revision?: string;
  /** Whether a string is checked as a local path first (default: true where a file system is available). */
  readonly fileExists?: (path: string) => Promise<boolean>;
}

/**
 * A base model and its tokenizer, loaded together. `model` owns the weights: call {@link Pretrained.dispose} (or
 * `model.dispose()`) when done.
 */
export interface Pretrained {
  /** The model with the adapter methods installed (no adapter yet; the base model is frozen for adapter training). */
  readonly model: AdapterModel;
  /** The tokenizer of the same folder. */
  readonly tokenizer: Tokenizer;
  /** Where it came from: `embedded`, a folder or URL, or `hub:org/name`. */
  readonly source: string;
  /** Frees every tensor of the model (weights, adapters, heads). */
  dispose(): void;
}

/** What {@link loadPretrained} reads: `'embedded'`, a model folder (path or URL), a Hub id `org/name`, or any source. */
export type PretrainedSource = 'embedded' | SourceInput;

async function defaultFileExists(path: string): Promise<boolean> {
  try {
    return await toSource(path).has('config.json');
  } catch {
    return false;
  }
}

/**
 * Resolve what {@link loadPretrained} reads. A string is: `embedded` → `@adapterkit/bert-mini`'s folder; a URL →
 * fetched; a path that holds `config.json` → that folder; else something shaped like a Hub id (`org/name`, not
 * starting with `.` or `/`) → `<hubEndpoint>/org/name/resolve/<revision>/`; anything else fails with
 * `MODEL_NOT_FOUND` (a mistyped path is never sent to the Hub).
 */
export async function resolvePretrainedSource(source: PretrainedSource, options: LoadPretrainedOptions = {}): Promise<{ source: FileSource; label: string }> {
  if (source === 'embedded') {
    const dir = embeddedModelDir();
    return { source: toSource(dir), label: 'embedded' };
  }
  if (typeof source !== 'string') return { source: toSource(source), label: source instanceof URL ? source.href : toSource(source).label };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return { source: toSource(source), label: source };
  const exists = options.fileExists ?? defaultFileExists;
  if (await exists(source)) return { source: toSource(source), label: source };
  if (HUB_ID.test(source) && !source.startsWith('.')) {
    const endpoint = (options.hubEndpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    const base = `${endpoint}/${source}/resolve/${encodeURIComponent(options.revision ?? 'main')}/`;
    return { source: urlSource(base), label: `hub:${source}` };
  }
  throw new AdapterKitError('MODEL_NOT_FOUND', `loadPretrained: ${source} is not a model folder (no config.json there), 'embedded', a URL, or a Hub id org/name`);
}

/**
 * Load a base model and its tokenizer from one place: `'embedded'` (AdapterKit's small BERT, `@adapterkit/bert-mini`),
 * a Hugging Face model folder (`config.json`, `model.safetensors` or `pytorch_model.bin`, `tokenizer.json` or
 * `vocab.txt`), a URL, a Hub id `org/name`, or any {@link SourceInput} (a `Map` of files, a zip, …).
 *
 * ```ts
 * const { model, tokenizer } = await loadPretrained('embedded');
 * const { lastHiddenState } = model.forward(tokenizer.encodeBatch(['a text'])); // [1, seq, 256], yours to dispose
 * ```
 *
 * @throws AdapterKitError `MODEL_NOT_FOUND` for a string that is none of these; the loaders' typed errors for
 *   malformed files.
 */
export async function loadPretrained(source: PretrainedSource, options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const { source: src, label } = await resolvePretrainedSource(source, options);
  const tokenizer = await loadTokenizer(src, options.tokenizer ?? {});
  const host = await loadHost(src);
  const model = new AdapterModel(host, {
    methods: options.methods ?? ALL_METHODS,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  });
  if (tokenizer.vocabSize > model.info.vocabSize) {
    model.dispose();
    throw new AdapterKitError('TOKENIZER_MISMATCH', `loadPretrained: ${label}: the tokenizer has ${tokenizer.vocabSize} tokens, the model's embeddings only ${model.info.vocabSize}`);
  }
  return { model, tokenizer, source: label, dispose: () => model.dispose() };
}

/**
 * Load the embedded model `adapterkit-bert-mini` (`@adapterkit/bert-mini`: BERT, 4 layers, hidden 256, vocabulary
 * 8000) and its tokenizer, offline. Node only (in browsers serve its files and call {@link loadPretrained} with
 * their URL).
 *
 * @throws AdapterKitError `EMBEDDED_MODEL_MISSING` when the installed package lacks its model files.
 */
export async function loadEmbedded(options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const dir = embeddedModelDir();
  const src = toSource(dir);
  const missing: string[] = [];
  for (const f of EMBEDDED_MODEL_FILES) if (!(await src.has(f))) missing.push(f);
  if (missing.length) throw new AdapterKitError('EMBEDDED_MODEL_MISSING', `loadEmbedded: ${EMBEDDED_MODEL_NAME} at ${dir} lacks ${missing.join(', ')} (reinstall @adapterkit/bert-mini)`);
  const p = await loadPretrained('embedded', options);
  return p;
}
