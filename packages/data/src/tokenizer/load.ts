import { AdapterKitError, baseName, dirName, FileFormatError, hostFs, readText, refLabel, toSource, type FileSource, type SourceInput } from '@adapterkit/core';
import { bertTokenizerJson } from './bert-json';
import type { TokenizerConfigJson, TokenizerJson } from './schema';
import { Tokenizer, type TokenizerOptions } from './tokenizer';

async function readJson<T>(src: FileSource, name: string): Promise<T> {
  const text = await readText({ source: src, name });
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new FileFormatError('INVALID_JSON', `${refLabel({ source: src, name })}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

async function readOptionalJson<T>(src: FileSource, name: string): Promise<T | undefined> {
  return (await src.has(name)) ? readJson<T>(src, name) : undefined;
}

/** A folder and, when `input` names one file of it (`tokenizer.json`, `vocab.txt`), that file's name. */
async function locate(input: SourceInput): Promise<{ src: FileSource; file?: string }> {
  if (typeof input !== 'string') return { src: toSource(input) };
  if (hostFs.available && !/^[a-z]+:\/\//i.test(input)) {
    if (!(await hostFs.exists(input))) throw new FileFormatError('NOT_FOUND', `loadTokenizer: ${input} does not exist`);
    if (await hostFs.isDirectory(input)) return { src: toSource(input) };
    return { src: toSource(dirName(input)), file: baseName(input) };
  }
  if (/\.(json|txt)$/i.test(input)) return { src: toSource(dirName(input)), file: baseName(input) };
  return { src: toSource(input) };
}

/**
 * Loads a tokenizer from a folder (a Hugging Face checkpoint) or a file.
 *
 * - a folder with `tokenizer.json` (plus optional `tokenizer_config.json` and `special_tokens_map.json`);
 * - a `tokenizer.json` file (the config files are read from beside it);
 * - a folder or file with only a BERT `vocab.txt`: a BERT WordPiece tokenizer is built, lower-casing unless
 *   `tokenizer_config.json` says `do_lower_case: false`.
 *
 * Nothing is downloaded: the files must be on disk.
 *
 * @param dirOrFile - Checkpoint folder, `tokenizer.json` or `vocab.txt`.
 */
export async function loadTokenizer(dirOrFile: SourceInput, options: TokenizerOptions = {}): Promise<Tokenizer> {
  const { src, file: named } = await locate(dirOrFile);
  const dir = src.label;
  const config = (await readOptionalJson<TokenizerConfigJson>(src, 'tokenizer_config.json')) ?? {};
  const specialMap = (await readOptionalJson<TokenizerConfigJson>(src, 'special_tokens_map.json')) ?? {};
  let file = named ?? 'tokenizer.json';
  if (named === undefined && !(await src.has(file)) && (await src.has('vocab.txt'))) file = 'vocab.txt';
  if (file === 'vocab.txt') {
    const vocab = (await readText({ source: src, name: file })).split(/\r?\n/);
    if (vocab[vocab.length - 1] === '') vocab.pop();
    const lowercase = typeof config.do_lower_case === 'boolean' ? config.do_lower_case : true;
    const strip = config.strip_accents;
    return Tokenizer.fromJSON(bertTokenizerJson(vocab, { lowercase, stripAccents: typeof strip === 'boolean' ? strip : null }), config, specialMap, options);
  }
  if (!(await src.has(file))) {
    throw new FileFormatError('NOT_FOUND', named ? `loadTokenizer: ${refLabel({ source: src, name: file })} does not exist` : `loadTokenizer: ${dir} has neither tokenizer.json nor vocab.txt`);
  }
  const json = await readJson<TokenizerJson>(src, file);
  try {
    return Tokenizer.fromJSON(json, config, specialMap, options);
  } catch (err) {
    if (err instanceof AdapterKitError) throw new FileFormatError(err.code, `${refLabel({ source: src, name: file })}: ${err.message}`, { cause: err });
    throw err;
  }
}
