import { writeFiles, type SinkInput } from '@adapterkit/core';
import { SPECIAL_ROLES, type ModelJson } from './schema';
import type { Tokenizer } from './tokenizer';

function vocabInIdOrder(model: ModelJson): string[] {
  const vocab = model.vocab;
  if (Array.isArray(vocab)) return vocab.map(([t]) => t);
  const out: string[] = [];
  for (const [t, id] of Object.entries(vocab as Record<string, number>)) out[id] = t;
  return Array.from(out, (t) => t ?? '');
}

/**
 * Saves a tokenizer as transformers saves a fast tokenizer: `tokenizer.json`, `tokenizer_config.json` and
 * `special_tokens_map.json` (with the resolved special tokens), plus the slow tokenizer's vocabulary files —
 * `vocab.txt` for WordPiece, `vocab.json` + `merges.txt` for BPE. Files are written atomically; `dir` is created.
 */
export async function saveTokenizer(tokenizer: Tokenizer, dir: SinkInput): Promise<void> {
  const json = tokenizer.toJSON();
  const specialMap: Record<string, string> = {};
  for (const role of SPECIAL_ROLES) {
    const s = tokenizer.specialTokens[role];
    if (s !== undefined) specialMap[`${role}_token`] = s.token;
  }
  const config = { ...tokenizer.config, ...specialMap };
  const files: Record<string, string> = {
    'tokenizer.json': `${JSON.stringify(json, null, 2)}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
    'special_tokens_map.json': `${JSON.stringify(specialMap, null, 2)}\n`,
  };
  const model = json.model;
  if (model.type === 'WordPiece') files['vocab.txt'] = `${vocabInIdOrder(model).join('\n')}\n`;
  if (model.type === 'BPE') {
    files['vocab.json'] = `${JSON.stringify(model.vocab)}\n`;
    const merges = (model.merges ?? []).map((m) => (typeof m === 'string' ? m : m.join(' ')));
    files['merges.txt'] = `#version: 0.2\n${merges.map((m) => `${m}\n`).join('')}`;
  }
  await writeFiles(dir, files);
}
