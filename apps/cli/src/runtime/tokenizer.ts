import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTokenizer, type Tokenizer } from '@adapterkit/data';
import type { Context } from '../cli/command';
import { CliError } from '../cli/errors';

/** Whether a folder holds tokenizer files `loadTokenizer` reads. */
function hasTokenizer(dir: string): boolean {
  return existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt'));
}

/**
 * The tokenizer to use: `--tokenizer PATH` when given, else the first of `dirs` (adapter folder, model folder)
 * that has `tokenizer.json` or `vocab.txt`. Refuses a tokenizer with more ids than the model's vocabulary.
 */
export async function resolveTokenizer(ctx: Context, explicit: string | undefined, dirs: readonly string[], modelVocabSize: number): Promise<{ tokenizer: Tokenizer; from: string }> {
  let from: string;
  if (explicit !== undefined) {
    from = resolve(ctx.io.cwd, explicit);
    if (!existsSync(from)) throw new CliError(`--tokenizer ${explicit}: no such file or directory`);
  } else {
    const found = dirs.find(hasTokenizer);
    if (!found) throw new CliError(`no tokenizer: ${dirs.join(' and ')} ${dirs.length > 1 ? 'have' : 'has'} no tokenizer.json or vocab.txt (pass --tokenizer FILE)`);
    from = found;
  }
  const tokenizer = await loadTokenizer(from);
  if (tokenizer.vocabSize > modelVocabSize) {
    throw new CliError(`tokenizer ${from} has ${tokenizer.vocabSize} ids but the model's vocabulary has ${modelVocabSize} (vocab_size): they do not belong together`);
  }
  return { tokenizer, from };
}
