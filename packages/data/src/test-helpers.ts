/**
 * Test helpers: fixture paths and the reference implementation (the Rust `tokenizers` library through its Node
 * binding, a dev dependency) that encodings are checked against.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `packages/data/fixtures`. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** The parts of the Rust binding's API the tests use. */
export interface RustEncoding {
  getIds(): number[];
  getTypeIds(): number[];
  getTokens(): string[];
  getAttentionMask(): number[];
  getSpecialTokensMask(): number[];
}
export interface RustTokenizer {
  encode(text: string, pair?: string | null, options?: { addSpecialTokens?: boolean }): Promise<RustEncoding>;
  encodeBatch(inputs: (string | [string, string])[]): Promise<RustEncoding[]>;
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>;
  setTruncation(maxLength: number, options?: { strategy?: string }): void;
  disableTruncation(): void;
  setPadding(options?: { padId?: number; padToken?: string; maxLength?: number; padToMultipleOf?: number }): void;
  getVocabSize(withAddedTokens?: boolean): number;
}
interface RustModule {
  Tokenizer: { fromFile(path: string): RustTokenizer; fromString(json: string): RustTokenizer };
}

const require = createRequire(import.meta.url);

/** The Rust `tokenizers` binding (HF's reference implementation, the core of the Python package). */
export const rust = require('tokenizers') as RustModule;
