import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../cli/errors';

/** Tokenizer files copied next to trained adapters and written models (whichever exist). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt'] as const;

/** `1234567` → `1.2 MB` (decimal units, as file managers show). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** Size of a file in bytes (0 if it does not exist). */
export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** Copy every tokenizer file of `from` into `to`; returns the names copied. */
export async function copyTokenizerFiles(from: string, to: string): Promise<string[]> {
  const copied: string[] = [];
  await mkdir(to, { recursive: true });
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(from, f))) {
      await copyFile(join(from, f), join(to, f));
      copied.push(f);
    }
  }
  return copied;
}

/** Read and parse a JSON file; one-line errors for a missing file or bad JSON. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new CliError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${what} ${path}: invalid JSON (${(err as Error).message})`);
  }
}

/** Fail with a one-line error unless `dir` is an existing directory. */
export function requireDir(dir: string, what: string): void {
  if (!existsSync(dir)) throw new CliError(`${what} ${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new CliError(`${what} ${dir}: not a directory`);
}
