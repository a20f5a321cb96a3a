import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AdapterKitError, FileFormatError } from '@adapterkit/core';
import { bertTokenizerJson } from './bert-json';
import type { TokenizerConfigJson, TokenizerJson } from './schema';
import { Tokenizer, type TokenizerOptions } from './tokenizer';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(path: string): Promise<T> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new FileFormatError('INVALID_JSON', `${path}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

async function readOptionalJson<T>(path: string): Promise<T | undefined> {
  return (await exists(path)) ? readJson<T>(path) : undefined;
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
export async function loadTokenizer(dirOrFile: string, options: TokenizerOptions = {}): Promise<Tokenizer> {
  const info = await stat(dirOrFile).catch((err: unknown) => {
    throw new FileFormatError('NOT_FOUND', `loadTokenizer: ${dirOrFile} does not exist`, { cause: err });
  });
  const dir = info.isDirectory() ? dirOrFile : dirname(dirOrFile);
  const config = (await readOptionalJson<TokenizerConfigJson>(join(dir, 'tokenizer_config.json'))) ?? {};
  const specialMap = (await readOptionalJson<TokenizerConfigJson>(join(dir, 'special_tokens_map.json'))) ?? {};
  let file = info.isDirectory() ? join(dir, 'tokenizer.json') : dirOrFile;
  if (info.isDirectory() && !(await exists(file)) && (await exists(join(dir, 'vocab.txt')))) file = join(dir, 'vocab.txt');
  if (basename(file) === 'vocab.txt') {
    const vocab = (await readFile(file, 'utf8')).split(/\r?\n/);
    if (vocab[vocab.length - 1] === '') vocab.pop();
    const lowercase = typeof config.do_lower_case === 'boolean' ? config.do_lower_case : true;
    const strip = config.strip_accents;
    return Tokenizer.fromJSON(bertTokenizerJson(vocab, { lowercase, stripAccents: typeof strip === 'boolean' ? strip : null }), config, specialMap, options);
  }
  if (!(await exists(file))) {
    throw new FileFormatError('NOT_FOUND', `loadTokenizer: ${dir} has neither tokenizer.json nor vocab.txt`);
  }
  const json = await readJson<TokenizerJson>(file);
  try {
    return Tokenizer.fromJSON(json, config, specialMap, options);
  } catch (err) {
    if (err instanceof AdapterKitError) throw new FileFormatError(err.code, `${file}: ${err.message}`, { cause: err });
    throw err;
  }
}
