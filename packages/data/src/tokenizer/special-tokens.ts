import { AdapterKitError } from '@adapterkit/core';
import { SPECIAL_ROLES, type SpecialRole, type SpecialTokenValue, type TokenizerConfigJson, type TokenizerJson } from './schema';

/** A special token and its id. */
export interface SpecialToken {
  readonly token: string;
  readonly id: number;
}

/** The special tokens a tokenizer has, by role (absent = the tokenizer has none). */
export type SpecialTokens = Readonly<Partial<Record<SpecialRole, SpecialToken>>>;

/** Per-role overrides: a token string, or `null` for "this tokenizer has none". */
export type SpecialTokenOverrides = Readonly<Partial<Record<SpecialRole, string | null>>>;

/** Conventional spellings, tried (against the vocabulary) when no file names a role. */
const CONVENTIONS: Readonly<Record<SpecialRole, readonly string[]>> = {
  pad: ['[PAD]', '<pad>', '<|pad|>'],
  unk: ['[UNK]', '<unk>', '<|unk|>'],
  cls: ['[CLS]', '<s>'],
  sep: ['[SEP]', '</s>'],
  mask: ['[MASK]', '<mask>'],
  bos: ['<s>', '<|endoftext|>', '<|begin_of_text|>', '[BOS]'],
  eos: ['</s>', '<|endoftext|>', '<|end_of_text|>', '[EOS]'],
};

function tokenString(v: SpecialTokenValue | undefined): string | null | undefined {
  if (v === undefined || v === null) return v;
  return typeof v === 'string' ? v : v.content;
}

/**
 * Resolves the special tokens of a tokenizer. Per role the first source that mentions it wins: `overrides`,
 * `special_tokens_map.json`, `tokenizer_config.json` (`<role>_token`), the post-processor (BertProcessing /
 * RobertaProcessing `cls`/`sep`), the model's `unk_token`, then conventional spellings found in the vocabulary
 * (`[PAD]`/`<pad>`, `[CLS]`/`<s>`, `<|endoftext|>` for GPT-2's bos/eos, ...). A source that sets a role to `null`
 * means "none". A named token that is not in the vocabulary is an error.
 */
export function resolveSpecialTokens(
  json: TokenizerJson,
  config: TokenizerConfigJson,
  specialTokensMap: TokenizerConfigJson,
  tokenToId: (token: string) => number | undefined,
  overrides: SpecialTokenOverrides = {},
): SpecialTokens {
  const pp = json.post_processor;
  const fromProcessor: Partial<Record<SpecialRole, string>> =
    pp !== null && (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') ? { cls: pp.cls[0], sep: pp.sep[0] } : {};
  const out: Partial<Record<SpecialRole, SpecialToken>> = {};
  for (const role of SPECIAL_ROLES) {
    const key = `${role}_token` as const;
    const sources: ReadonlyArray<readonly [string, string | null | undefined]> = [
      ['overrides', overrides[role]],
      ['special_tokens_map.json', tokenString(specialTokensMap[key])],
      ['tokenizer_config.json', tokenString(config[key])],
      ['post_processor', fromProcessor[role]],
      ['model.unk_token', role === 'unk' ? (json.model.unk_token ?? undefined) : undefined],
    ];
    const named = sources.find(([, v]) => v !== undefined);
    if (named !== undefined) {
      const [source, token] = named;
      if (token === null || token === undefined) continue;
      const id = tokenToId(token);
      if (id === undefined) {
        throw new AdapterKitError('TOKENIZER_FORMAT', `${source} names ${role} token ${JSON.stringify(token)}, which is not in the vocabulary`);
      }
      out[role] = { token, id };
      continue;
    }
    for (const token of CONVENTIONS[role]) {
      const id = tokenToId(token);
      if (id !== undefined) {
        out[role] = { token, id };
        break;
      }
    }
  }
  return out;
}
