import { Tokenizer as Engine } from '@huggingface/tokenizers';
import { validateTokenizerJson } from './validate';
import { AdapterKitError } from '@adapterkit/core';
import { EncodedBatch, type PaddingStrategy } from './encoded-batch';
import { numSpecialTokensToAdd, postProcess, producesTokenTypeIds } from './post-process';
import type { TokenizerConfigJson, TokenizerJson } from './schema';
import { resolveSpecialTokens, type SpecialTokenOverrides, type SpecialTokens } from './special-tokens';
import { truncatePair, type TruncationStrategy } from './truncate';

/** One input of {@link Tokenizer.encodeBatch}: a text or a `[text, textPair]` pair. */
export type TextInput = string | readonly [string, string];

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the post-processor's special tokens (`[CLS]`/`[SEP]`, `<s>`/`</s>`), default true. */
  readonly addSpecialTokens?: boolean;
  /** Longest result in tokens, special tokens included. Default: {@link Tokenizer.modelMaxLength} when truncating. */
  readonly maxLength?: number;
  /**
   * Cut sequences longer than `maxLength` (`true` = `'longest_first'`). Default: true when `maxLength` is given,
   * else false.
   */
  readonly truncation?: boolean | TruncationStrategy;
}

/** Options of {@link Tokenizer.encodeBatch}. */
export interface EncodeBatchOptions extends EncodeOptions {
  /**
   * `'longest'` (default): pad to the longest sequence of the batch; `'max_length'`: pad to `maxLength`; `false`: no
   * padding (ragged rows; {@link EncodedBatch.toTensors} then refuses).
   */
  readonly padding?: PaddingStrategy | false;
  /** Round the padded length up to a multiple of this (e.g. 8). */
  readonly padToMultipleOf?: number;
}

/** One encoded sequence (no padding). */
export interface Encoding {
  readonly ids: number[];
  readonly tokens: string[];
  readonly tokenTypeIds: number[];
  readonly attentionMask: number[];
  /** 1 at special tokens (added by the post-processor, or a special token written in the text), else 0. */
  readonly specialTokensMask: number[];
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (`[CLS]`, `[PAD]`, ...), default true. */
  readonly skipSpecialTokens?: boolean;
  /** Undo spaces before punctuation (`" ."` → `"."`) as transformers' `decode` does; default: tokenizer_config's setting, else true. */
  readonly cleanUpTokenizationSpaces?: boolean;
}

/** Options of {@link Tokenizer.fromJSON} and `loadTokenizer`. */
export interface TokenizerOptions {
  /** Per-role special tokens overriding the files (e.g. `{ pad: '<|endoftext|>' }` to pad GPT-2). */
  readonly specialTokens?: SpecialTokenOverrides;
}

const MAX_SANE_LENGTH = 1_000_000;

/**
 * A Hugging Face tokenizer loaded from `tokenizer.json`: WordPiece (BERT), BPE and byte-level BPE (GPT-2, RoBERTa),
 * and anything else `@huggingface/tokenizers` reads (Unigram/Metaspace, ...). Normalisation, pre-tokenisation, the
 * model and decoding run in `@huggingface/tokenizers`; post-processing, truncation and padding are done here with
 * the Rust library's semantics (the engine has no truncation and drops the second text of a ByteLevel pair).
 *
 * ```ts
 * const tok = await loadTokenizer('models/bert');
 * const batch = tok.encodeBatch(['a short one', ['a premise', 'a hypothesis']], { maxLength: 128 });
 * const { inputIds, attentionMask, tokenTypeIds } = batch.toTensors(); // int32 [batch, seq]
 * ```
 */
export class Tokenizer {
  /** Special tokens by role (`pad`, `unk`, `cls`, `sep`, `mask`, `bos`, `eos`); absent roles are undefined. */
  readonly specialTokens: SpecialTokens;
  /** `model_max_length` of tokenizer_config.json when it is a real limit (transformers writes 1e30 for "none"). */
  readonly modelMaxLength: number | undefined;
  /** Number of ids: the largest id + 1 over the vocabulary and the added tokens (`len(tokenizer)` in transformers). */
  readonly vocabSize: number;
  /** Ids of every special added token plus the resolved special tokens: never masked, skipped when decoding. */
  readonly specialIds: ReadonlySet<number>;
  private readonly engine: Engine;
  private readonly idToTokenTable: readonly (string | undefined)[];

  private constructor(
    /** The `tokenizer.json` content (not modified; {@link toJSON} returns it). */
    private readonly json: TokenizerJson,
    /** The `tokenizer_config.json` content (`{}` if none). */
    readonly config: TokenizerConfigJson,
    specialTokensMap: TokenizerConfigJson,
    options: TokenizerOptions,
  ) {
    if (typeof json !== 'object' || json === null || typeof json.model !== 'object' || json.model === null) {
      throw new AdapterKitError('TOKENIZER_FORMAT', 'tokenizer.json has no "model" section');
    }
    validateTokenizerJson(json as unknown as Record<string, unknown>);
    try {
      this.engine = new Engine(json, config);
    } catch (err) {
      throw new AdapterKitError('TOKENIZER_FORMAT', `tokenizer.json could not be read: ${(err as Error).message}`, { cause: err });
    }
    const vocab = this.engine.get_vocab(true);
    const table: (string | undefined)[] = [];
    for (const [token, id] of vocab) table[id] = token;
    this.idToTokenTable = table;
    this.vocabSize = table.length;
    this.specialTokens = resolveSpecialTokens(json, config, specialTokensMap, (t) => this.tokenToId(t), options.specialTokens);
    const special = new Set(json.added_tokens.filter((t) => t.special).map((t) => t.id));
    for (const s of Object.values(this.specialTokens)) special.add(s.id);
    this.specialIds = special;
    const max = config.model_max_length;
    this.modelMaxLength = typeof max === 'number' && max > 0 && max < MAX_SANE_LENGTH ? max : undefined;
  }

  /**
   * Builds a tokenizer from parsed files.
   *
   * @param json - `tokenizer.json`.
   * @param config - `tokenizer_config.json` (optional).
   * @param specialTokensMap - `special_tokens_map.json` (optional).
   */
  static fromJSON(
    json: TokenizerJson,
    config: TokenizerConfigJson = {},
    specialTokensMap: TokenizerConfigJson = {},
    options: TokenizerOptions = {},
  ): Tokenizer {
    return new Tokenizer(json, config, specialTokensMap, options);
  }

  /**
   * Whether token type ids mean something for this tokenizer (BERT-style post-processing), as transformers returns
   * `token_type_ids` for BERT but not for GPT-2 or RoBERTa. {@link encode} always fills them (all 0 where they mean
   * nothing); consumers use this to decide whether to pass them to a model.
   */
  get returnsTokenTypeIds(): boolean {
    return producesTokenTypeIds(this.json.post_processor);
  }

  /** The model type of `tokenizer.json` (`WordPiece`, `BPE`, `Unigram`, ...). */
  get modelType(): string {
    return this.json.model.type;
  }

  /** Id of the padding token, if any. */
  get padTokenId(): number | undefined {
    return this.specialTokens.pad?.id;
  }
  /** Id of the unknown token, if any. */
  get unkTokenId(): number | undefined {
    return this.specialTokens.unk?.id;
  }
  /** Id of the classification token (`[CLS]`, `<s>`), if any. */
  get clsTokenId(): number | undefined {
    return this.specialTokens.cls?.id;
  }
  /** Id of the separator token (`[SEP]`, `</s>`), if any. */
  get sepTokenId(): number | undefined {
    return this.specialTokens.sep?.id;
  }
  /** Id of the mask token (`[MASK]`, `<mask>`), if any. */
  get maskTokenId(): number | undefined {
    return this.specialTokens.mask?.id;
  }
  /** Id of the beginning-of-sequence token, if any. */
  get bosTokenId(): number | undefined {
    return this.specialTokens.bos?.id;
  }
  /** Id of the end-of-sequence token, if any. */
  get eosTokenId(): number | undefined {
    return this.specialTokens.eos?.id;
  }

  /** A copy of this tokenizer with other special tokens, e.g. `tok.withSpecialTokens({ pad: '<|endoftext|>' })` for GPT-2. */
  withSpecialTokens(overrides: SpecialTokenOverrides): Tokenizer {
    const current = Object.fromEntries(Object.entries(this.specialTokens).map(([role, s]) => [role, s.token]));
    return new Tokenizer(this.json, this.config, {}, { specialTokens: { ...current, ...overrides } });
  }

  /** Id of `token` (vocabulary or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.engine.token_to_id(token);
  }

  /** Token string of `id`, or undefined. */
  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  /** The tokens of `text` (normalised, pre-tokenised, split by the model), without special tokens. */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new AdapterKitError('BAD_INPUT', `tokenize expects a string, got ${typeof text}`);
    return this.engine.tokenize(text, { add_special_tokens: false });
  }

  private tokenIds(text: string): number[] {
    return this.tokenize(text).map((t) => {
      const id = this.tokenToId(t) ?? this.unkTokenId;
      if (id === undefined) {
        throw new AdapterKitError('UNKNOWN_TOKEN', `token ${JSON.stringify(t)} of ${JSON.stringify(text.slice(0, 80))} is not in the vocabulary and the tokenizer has no unk token`);
      }
      return id;
    });
  }

  /**
   * Encodes one text or a pair (`[CLS] A [SEP] B [SEP]` for BERT), truncating as asked; no padding.
   *
   * @param text - The first (or only) text.
   * @param pair - The second text of a pair.
   */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): Encoding {
    const add = options.addSpecialTokens ?? true;
    let a = this.tokenIds(text);
    let b = pair === undefined || pair === null ? null : this.tokenIds(pair);
    const strategy = truncationStrategy(options);
    if (strategy !== null) {
      const maxLength = options.maxLength ?? this.modelMaxLength;
      if (maxLength === undefined) {
        throw new AdapterKitError('BAD_OPTION', 'truncation needs maxLength (this tokenizer has no model_max_length)');
      }
      ({ a, b } = truncatePair(a, b, maxLength, add ? numSpecialTokensToAdd(this.json.post_processor, b !== null) : 0, strategy));
    }
    const p = postProcess(this.json.post_processor, a, b, add);
    return {
      ids: p.ids,
      tokens: p.ids.map((id) => this.idToToken(id) ?? ''),
      tokenTypeIds: p.typeIds,
      attentionMask: p.ids.map(() => 1),
      specialTokensMask: p.ids.map((id, i) => (p.added[i] === 1 || this.specialIds.has(id) ? 1 : 0)),
    };
  }

  /**
   * Encodes a batch of texts and/or `[text, pair]` pairs, truncated and padded (right side, with the pad token,
   * attention mask 0 and token type 0 at padding).
   *
   * @returns Rows of equal length (unless `padding: false`); `toTensors()` gives int32 `[batch, seq]` tensors.
   */
  encodeBatch(inputs: readonly TextInput[], options: EncodeBatchOptions = {}): EncodedBatch {
    if (!Array.isArray(inputs)) throw new AdapterKitError('BAD_INPUT', 'encodeBatch expects an array of texts or [text, pair] pairs');
    const encodings = inputs.map((input, i) => {
      if (typeof input === 'string') return this.encode(input, null, options);
      if (Array.isArray(input) && input.length === 2 && typeof input[0] === 'string' && typeof input[1] === 'string') {
        return this.encode(input[0], input[1], options);
      }
      throw new AdapterKitError('BAD_INPUT', `encodeBatch input ${i} is neither a string nor a [text, pair] pair: ${JSON.stringify(input)?.slice(0, 80)}`);
    });
    const padding = options.padding ?? 'longest';
    if (padding === false) return EncodedBatch.fromEncodings(encodings, null);
    if (this.padTokenId === undefined) {
      const rows = new Set(encodings.map((e) => e.ids.length));
      if (rows.size > 1 || padding === 'max_length') {
        throw new AdapterKitError(
          'NO_PAD_TOKEN',
          'padding needs a pad token and this tokenizer has none; use tokenizer.withSpecialTokens({ pad: ... }) (GPT-2: the eos token)',
        );
      }
    }
    if (padding === 'max_length' && options.maxLength === undefined && this.modelMaxLength === undefined) {
      throw new AdapterKitError('BAD_OPTION', "padding 'max_length' needs maxLength");
    }
    return EncodedBatch.fromEncodings(encodings, {
      strategy: padding,
      maxLength: options.maxLength ?? this.modelMaxLength,
      padToMultipleOf: options.padToMultipleOf,
      padTokenId: this.padTokenId ?? 0,
    });
  }

  /**
   * Decodes ids to text as transformers' `decode` does (the tokenizer.json decoder, then the clean-up of spaces
   * before punctuation).
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const kept = ids.filter((id) => {
      if (!Number.isInteger(id) || this.idToToken(id) === undefined) {
        throw new AdapterKitError('BAD_INPUT', `decode: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      }
      return !(skip && this.specialIds.has(id));
    });
    if (kept.length === 0) return '';
    return this.engine.decode(kept, {
      skip_special_tokens: false,
      ...(options.cleanUpTokenizationSpaces === undefined ? {} : { clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces }),
    });
  }

  /** The `tokenizer.json` content this tokenizer was built from (what `saveTokenizer` writes). */
  toJSON(): TokenizerJson {
    return this.json;
  }
}

function truncationStrategy(options: EncodeOptions): TruncationStrategy | null {
  const t = options.truncation ?? options.maxLength !== undefined;
  if (t === false) return null;
  if (t === true) return 'longest_first';
  if (t === 'longest_first' || t === 'only_first' || t === 'only_second') return t;
  throw new AdapterKitError('BAD_OPTION', `truncation must be a boolean, 'longest_first', 'only_first' or 'only_second', got ${JSON.stringify(t)}`);
}
