/**
 * A text-classification example: one text or a pair, with an optional label (a class name or id) and an optional
 * identifier.
 */
export interface TextExample {
  readonly text: string;
  /** Second text of a pair task (NLI, paraphrase, QA). */
  readonly textPair?: string;
  /** Class name (`'spam'`) or class id; map names to ids with a `LabelMap`. */
  readonly label?: string | number;
  /** Stable identifier (e.g. `spam-2/00123` or `de-017` in the embedded datasets). */
  readonly id?: string;
}
