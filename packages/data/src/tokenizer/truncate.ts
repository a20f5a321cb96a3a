import { AdapterKitError } from '@adapterkit/core';

/** How a sequence pair is cut down to `maxLength` (the Rust library's `TruncationStrategy`). */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/**
 * Truncates the ids of one sequence or a pair so that, with `numAdded` special tokens, they fit `maxLength`; cuts
 * from the right. The arithmetic is the Rust library's `truncate_encodings` (so pairs split exactly as
 * `tokenizers` splits them): `longest_first` keeps the shorter sequence whole when it fits in half, else gives each
 * half (the second gets the odd token).
 *
 * @returns New arrays (the inputs are not modified).
 */
export function truncatePair(
  a: readonly number[],
  b: readonly number[] | null,
  maxLength: number,
  numAdded: number,
  strategy: TruncationStrategy,
): { a: number[]; b: number[] | null } {
  const budget = maxLength - numAdded;
  if (budget < 0) {
    throw new AdapterKitError('BAD_OPTION', `maxLength ${maxLength} is shorter than the ${numAdded} special tokens the tokenizer adds`);
  }
  const total = a.length + (b?.length ?? 0);
  if (total <= budget) return { a: [...a], b: b && [...b] };
  const toRemove = total - budget;
  if (strategy === 'longest_first') {
    if (b === null) return { a: a.slice(0, budget), b: null };
    let n1 = a.length;
    let n2 = b.length;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
    if (n1 + n2 > budget) {
      n1 = Math.floor(budget / 2);
      n2 = n1 + (budget % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    return { a: a.slice(0, n1), b: b.slice(0, n2) };
  }
  const first = strategy === 'only_first';
  if (!first && b === null) throw new AdapterKitError('BAD_OPTION', `truncation 'only_second' needs a sequence pair`);
  const target = first ? a : b!;
  if (target.length <= toRemove) {
    throw new AdapterKitError(
      'SEQUENCE_TOO_SHORT',
      `truncation '${strategy}' cannot fit maxLength ${maxLength}: the ${first ? 'first' : 'second'} sequence has ${target.length} tokens but ${toRemove} must go`,
    );
  }
  const cut = target.slice(0, target.length - toRemove);
  return first ? { a: cut, b: b && [...b] } : { a: [...a], b: cut };
}
