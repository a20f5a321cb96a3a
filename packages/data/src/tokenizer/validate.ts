import { AdapterKitError } from '@adapterkit/core';

/**
 * Structural checks of the `tokenizer.json` sections this package interprets itself (`added_tokens`,
 * `post_processor`), before anything reads them, so a malformed file fails with a typed `TOKENIZER_FORMAT` error
 * naming the field instead of a TypeError deep inside encoding. (The engine checks `normalizer`, `pre_tokenizer`,
 * `model` and `decoder`.)
 *
 * @packageDocumentation
 */

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function bad(where: string, what: string): never {
  throw new AdapterKitError('TOKENIZER_FORMAT', `tokenizer.json: ${where} ${what}`);
}

function checkPiece(p: unknown, where: string): void {
  if (!isObj(p)) bad(where, 'must be {"SpecialToken": …} or {"Sequence": …}');
  if ('SpecialToken' in p) {
    const s = p['SpecialToken'];
    if (!isObj(s) || typeof s['id'] !== 'string' || !isInt(s['type_id'])) bad(`${where}.SpecialToken`, 'must be {"id": string, "type_id": int}');
  } else if ('Sequence' in p) {
    const s = p['Sequence'];
    if (!isObj(s) || (s['id'] !== 'A' && s['id'] !== 'B') || !isInt(s['type_id'])) bad(`${where}.Sequence`, 'must be {"id": "A" | "B", "type_id": int}');
  } else bad(where, 'must be {"SpecialToken": …} or {"Sequence": …}');
}

function checkPair(v: unknown, where: string): void {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || !isInt(v[1])) bad(where, 'must be [token, id]');
}

function checkPostProcessor(pp: unknown, where: string, depth: number): void {
  if (pp === null || pp === undefined) return;
  if (!isObj(pp) || typeof pp['type'] !== 'string') bad(where, 'must be null or an object with a "type"');
  switch (pp['type']) {
    case 'TemplateProcessing': {
      for (const k of ['single', 'pair'] as const) {
        const list = pp[k];
        if (!Array.isArray(list)) bad(`${where}.${k}`, 'must be a list');
        list.forEach((p, i) => checkPiece(p, `${where}.${k}[${i}]`));
      }
      const st = pp['special_tokens'];
      if (!isObj(st)) bad(`${where}.special_tokens`, 'must be an object');
      for (const [name, t] of Object.entries(st)) {
        if (!isObj(t) || typeof t['id'] !== 'string' || !Array.isArray(t['ids']) || !t['ids'].every(isInt) || !Array.isArray(t['tokens'])) {
          bad(`${where}.special_tokens[${JSON.stringify(name)}]`, 'must be {"id": string, "ids": [int], "tokens": [string]}');
        }
      }
      return;
    }
    case 'BertProcessing':
    case 'RobertaProcessing':
      checkPair(pp['sep'], `${where}.sep`);
      checkPair(pp['cls'], `${where}.cls`);
      return;
    case 'Sequence': {
      const list = pp['processors'];
      if (!Array.isArray(list)) bad(`${where}.processors`, 'must be a list');
      if (depth > 8) bad(where, 'nests Sequence processors too deep');
      list.forEach((p, i) => {
        if (p === null) bad(`${where}.processors[${i}]`, 'must be an object');
        checkPostProcessor(p, `${where}.processors[${i}]`, depth + 1);
      });
      return;
    }
    default:
      return;
  }
}

/** Validates `added_tokens` and `post_processor` of a parsed `tokenizer.json`; throws `TOKENIZER_FORMAT` naming the field. */
export function validateTokenizerJson(json: Record<string, unknown>): void {
  const added = json['added_tokens'];
  if (!Array.isArray(added)) bad('"added_tokens"', 'must be a list');
  added.forEach((t, i) => {
    if (!isObj(t) || !isInt(t['id']) || t['id'] < 0 || typeof t['content'] !== 'string') bad(`added_tokens[${i}]`, 'must be {"id": int ≥ 0, "content": string, …}');
  });
  checkPostProcessor(json['post_processor'], 'post_processor', 0);
  // Ids size the id → token table: bound them by the number of tokens before anything is allocated (vocabularies
  // are dense, 0..n-1; a stray id of 1e9 would otherwise make a billion-entry table).
  const model = json['model'];
  const vocab = isObj(model) ? model['vocab'] : undefined;
  if (Array.isArray(vocab)) {
    // Only Unigram stores its vocabulary as a list of [token, score] (ids are the positions).
    if (isObj(model) && model['type'] !== 'Unigram') bad('model.vocab', `must be an object of token → id for a ${String(model['type']).slice(0, 40)} model`);
    vocab.forEach((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') bad(`model.vocab[${i}]`, 'must be [token, score]');
    });
  } else if (vocab !== undefined && !isObj(vocab)) bad('model.vocab', 'must be an object of token → id');
  const entries = isObj(vocab) ? Object.entries(vocab) : [];
  const count = entries.length + added.length;
  const limit = Math.max(2 * count, count + 65_536);
  for (const [token, id] of entries) {
    if (!isInt(id) || id < 0 || id >= limit) {
      bad(`model.vocab[${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token)}]`, `= ${String(id).slice(0, 40)} must be an integer id in [0, ${limit}) (${count} tokens)`);
    }
  }
  added.forEach((t, i) => {
    if ((t as { id: number }).id >= limit) bad(`added_tokens[${i}].id`, `= ${(t as { id: number }).id} must be below ${limit} (${count} tokens)`);
  });
}
