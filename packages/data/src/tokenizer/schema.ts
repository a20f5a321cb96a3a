/**
 * The subset of the Hugging Face `tokenizer.json` schema (tokenizers ≥ 0.13, `version: "1.0"`) that this package
 * reads and writes, plus the `tokenizer_config.json` / `special_tokens_map.json` fields it uses. Unknown fields are
 * kept as they are, so a loaded file saves back unchanged.
 *
 * @packageDocumentation
 */

/** One entry of `added_tokens` in `tokenizer.json`. */
export interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

/** A piece of a `TemplateProcessing` template. */
export type TemplatePieceJson =
  | { readonly SpecialToken: { readonly id: string; readonly type_id: number } }
  | { readonly Sequence: { readonly id: 'A' | 'B'; readonly type_id: number } };

/** A special token of a `TemplateProcessing` post-processor (may expand to several ids). */
export interface TemplateSpecialTokenJson {
  readonly id: string;
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
}

/** The post-processors this package applies (the ones the Rust library writes for BERT, RoBERTa, GPT-2, Llama). */
export type PostProcessorJson =
  | {
      readonly type: 'TemplateProcessing';
      readonly single: readonly TemplatePieceJson[];
      readonly pair: readonly TemplatePieceJson[];
      readonly special_tokens: Readonly<Record<string, TemplateSpecialTokenJson>>;
    }
  | { readonly type: 'BertProcessing'; readonly sep: readonly [string, number]; readonly cls: readonly [string, number] }
  | {
      readonly type: 'RobertaProcessing';
      readonly sep: readonly [string, number];
      readonly cls: readonly [string, number];
      readonly trim_offsets?: boolean;
      readonly add_prefix_space?: boolean;
    }
  | { readonly type: 'ByteLevel'; readonly add_prefix_space?: boolean; readonly trim_offsets?: boolean; readonly use_regex?: boolean }
  | { readonly type: 'Sequence'; readonly processors: readonly PostProcessorJson[] };

/** The `model` section. `vocab` is a token → id map for WordPiece/BPE/WordLevel and a `[token, score]` list for Unigram. */
export interface ModelJson {
  readonly type: string;
  readonly vocab: Readonly<Record<string, number>> | ReadonlyArray<readonly [string, number]>;
  readonly unk_token?: string | null;
  readonly continuing_subword_prefix?: string | null;
  readonly max_input_chars_per_word?: number;
  /** BPE merges, either `"a b"` strings (tokenizers < 0.20) or `["a", "b"]` pairs. */
  readonly merges?: ReadonlyArray<string | readonly [string, string]>;
  readonly [key: string]: unknown;
}

/** A whole `tokenizer.json`. `normalizer`, `pre_tokenizer` and `decoder` are passed through to the engine. */
export interface TokenizerJson {
  readonly version: string;
  readonly truncation: unknown;
  readonly padding: unknown;
  readonly added_tokens: readonly AddedTokenJson[];
  readonly normalizer: Readonly<Record<string, unknown>> | null;
  readonly pre_tokenizer: Readonly<Record<string, unknown>> | null;
  readonly post_processor: PostProcessorJson | null;
  readonly decoder: Readonly<Record<string, unknown>> | null;
  readonly model: ModelJson;
}

/** A special token as `tokenizer_config.json` / `special_tokens_map.json` write it: a string or an AddedToken dict. */
export type SpecialTokenValue = string | { readonly content: string; readonly [key: string]: unknown } | null;

/** The fields of `tokenizer_config.json` this package reads (everything else is kept). */
export interface TokenizerConfigJson {
  readonly model_max_length?: number;
  readonly do_lower_case?: boolean;
  readonly pad_token?: SpecialTokenValue;
  readonly unk_token?: SpecialTokenValue;
  readonly cls_token?: SpecialTokenValue;
  readonly sep_token?: SpecialTokenValue;
  readonly mask_token?: SpecialTokenValue;
  readonly bos_token?: SpecialTokenValue;
  readonly eos_token?: SpecialTokenValue;
  readonly [key: string]: unknown;
}

/** The special-token roles a tokenizer can have. */
export const SPECIAL_ROLES = ['pad', 'unk', 'cls', 'sep', 'mask', 'bos', 'eos'] as const;
/** One special-token role: `pad`, `unk`, `cls`, `sep`, `mask`, `bos` or `eos`. */
export type SpecialRole = (typeof SPECIAL_ROLES)[number];
