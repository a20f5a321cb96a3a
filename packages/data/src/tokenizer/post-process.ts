import { AdapterKitError } from '@adapterkit/core';
import type { PostProcessorJson, TemplatePieceJson } from './schema';

/** A sequence after post-processing: ids, token type ids and which positions the post-processor added. */
export interface ProcessedSequence {
  readonly ids: number[];
  readonly typeIds: number[];
  /** 1 where the post-processor inserted a special token, else 0. */
  readonly added: number[];
}

function concat(a: readonly number[], b: readonly number[] | null, typeB: number): ProcessedSequence {
  const ids = [...a, ...(b ?? [])];
  return { ids, typeIds: [...a.map(() => 0), ...(b ?? []).map(() => typeB)], added: ids.map(() => 0) };
}

function fromPieces(
  pieces: ReadonlyArray<{ readonly ids: readonly number[]; readonly type: number; readonly special: boolean }>,
): ProcessedSequence {
  const out: ProcessedSequence = { ids: [], typeIds: [], added: [] };
  for (const p of pieces) {
    for (const id of p.ids) {
      out.ids.push(id);
      out.typeIds.push(p.type);
      out.added.push(p.special ? 1 : 0);
    }
  }
  return out;
}

function template(
  pp: Extract<PostProcessorJson, { type: 'TemplateProcessing' }>,
  a: readonly number[],
  b: readonly number[] | null,
): ProcessedSequence {
  const pieces = (b === null ? pp.single : pp.pair).map((piece: TemplatePieceJson) => {
    if ('SpecialToken' in piece) {
      const special = pp.special_tokens[piece.SpecialToken.id];
      if (special === undefined) {
        throw new AdapterKitError(
          'TOKENIZER_FORMAT',
          `TemplateProcessing names special token ${JSON.stringify(piece.SpecialToken.id)} that its special_tokens map lacks`,
        );
      }
      return { ids: special.ids, type: piece.SpecialToken.type_id, special: true };
    }
    const seq = piece.Sequence.id === 'A' ? a : b;
    if (seq === null) throw new AdapterKitError('TOKENIZER_FORMAT', 'TemplateProcessing single template refers to sequence B');
    return { ids: seq, type: piece.Sequence.type_id, special: false };
  });
  return fromPieces(pieces);
}

/**
 * Applies a `tokenizer.json` post-processor to the ids of one sequence or a pair, with the Rust library's token type
 * ids: BertProcessing `[CLS] A [SEP] B [SEP]` (types 0…0 1…1); RobertaProcessing `<s> A </s> </s> B </s>` (all 0);
 * ByteLevel and no post-processor: plain concatenation (types 0 for A, 1 for B); TemplateProcessing as written;
 * Sequence: its ByteLevel members only trim offsets, so the one member that adds tokens (if any) decides.
 *
 * @param pp - The `post_processor` section (or null).
 * @param a - Ids of the first sequence.
 * @param b - Ids of the second sequence, or null.
 * @param addSpecialTokens - False: concatenate only (types still 0/1 as the processor would set them).
 */
export function postProcess(
  pp: PostProcessorJson | null,
  a: readonly number[],
  b: readonly number[] | null,
  addSpecialTokens: boolean,
): ProcessedSequence {
  if (pp === null) return concat(a, b, 1);
  switch (pp.type) {
    case 'TemplateProcessing': {
      if (addSpecialTokens) return template(pp, a, b);
      const types = (b === null ? pp.single : pp.pair).filter((p): p is Extract<TemplatePieceJson, { Sequence: unknown }> => 'Sequence' in p);
      const typeB = types.find((p) => p.Sequence.id === 'B')?.Sequence.type_id ?? 1;
      const typeA = types.find((p) => p.Sequence.id === 'A')?.Sequence.type_id ?? 0;
      const r = concat(a, b, typeB);
      return { ...r, typeIds: r.typeIds.map((t, i) => (i < a.length ? typeA : t)) };
    }
    case 'BertProcessing': {
      if (!addSpecialTokens) return concat(a, b, 1);
      const [cls, sep] = [pp.cls[1], pp.sep[1]];
      const pieces = [
        { ids: [cls], type: 0, special: true },
        { ids: a, type: 0, special: false },
        { ids: [sep], type: 0, special: true },
      ];
      if (b !== null) pieces.push({ ids: b, type: 1, special: false }, { ids: [sep], type: 1, special: true });
      return fromPieces(pieces);
    }
    case 'RobertaProcessing': {
      if (!addSpecialTokens) return concat(a, b, 0);
      const [cls, sep] = [pp.cls[1], pp.sep[1]];
      const pieces = [
        { ids: [cls], type: 0, special: true },
        { ids: a, type: 0, special: false },
        { ids: [sep], type: 0, special: true },
      ];
      if (b !== null) pieces.push({ ids: [sep], type: 0, special: true }, { ids: b, type: 0, special: false }, { ids: [sep], type: 0, special: true });
      return fromPieces(pieces);
    }
    case 'ByteLevel':
      return concat(a, b, 1);
    case 'Sequence': {
      const adding = pp.processors.filter((p) => p.type !== 'ByteLevel');
      if (adding.length > 1) {
        throw new AdapterKitError(
          'TOKENIZER_UNSUPPORTED',
          `post_processor Sequence with several token-adding members (${adding.map((p) => p.type).join(', ')}) is not implemented`,
        );
      }
      return postProcess(adding[0] ?? null, a, b, addSpecialTokens);
    }
    default:
      throw new AdapterKitError(
        'TOKENIZER_UNSUPPORTED',
        `post_processor type ${JSON.stringify((pp as { type: unknown }).type)} is not implemented (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`,
      );
  }
}

/** How many tokens the post-processor adds to one sequence (`pair` false) or a pair. */
export function numSpecialTokensToAdd(pp: PostProcessorJson | null, pair: boolean): number {
  return postProcess(pp, [], pair ? [] : null, true).ids.length;
}

/**
 * Whether a post-processor gives token type ids a meaning, i.e. whether transformers' tokenizer of that family returns
 * `token_type_ids` (they are in its `model_input_names`): BertProcessing, and a TemplateProcessing whose pair
 * template sets a non-zero type id (BERT's `[CLS] $A [SEP] $B:1 [SEP]:1`), do; RobertaProcessing, ByteLevel and no
 * post-processor (GPT-2, RoBERTa: every type id 0) do not. A Sequence is decided by its token-adding member.
 */
export function producesTokenTypeIds(pp: PostProcessorJson | null): boolean {
  if (pp === null) return false;
  switch (pp.type) {
    case 'BertProcessing':
      return true;
    case 'TemplateProcessing':
      return pp.pair.some((piece) => ('SpecialToken' in piece ? piece.SpecialToken.type_id : piece.Sequence.type_id) !== 0);
    case 'Sequence':
      return pp.processors.some((p) => p.type !== 'ByteLevel' && producesTokenTypeIds(p));
    default:
      return false;
  }
}
