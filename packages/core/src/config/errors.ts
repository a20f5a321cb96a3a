import { AdapterKitError } from '../errors';

/** Options accepted by {@link ConfigParseError}. */
export interface ConfigParseErrorOptions {
  /**
   * What was being parsed, used in the first line of the message
   * (`Invalid <subject> at position N: ...`). Defaults to `adapter config string`.
   */
  subject?: string;
  /** Underlying cause, forwarded to `Error`. */
  cause?: unknown;
}

/** Longest source line shown in full in an error message; longer lines are windowed. */
const MAX_SNIPPET = 100;
/** Characters kept on each side of the caret when a long line is windowed. */
const WINDOW_HALF = 45;

/**
 * Renders `input` with a caret line under `position`, each line indented by two spaces.
 *
 * For multi-line input only the line containing `position` is shown; tabs and other
 * control characters are replaced by spaces so that the caret stays aligned; very long
 * lines are shortened to a window around the position (`...` marks elided text).
 *
 * @param input - The whole text that was parsed.
 * @param position - 0-based UTF-16 index into `input`; may equal `input.length` (end of input).
 * @returns Two lines (snippet and caret) joined by `\n`, without a trailing newline.
 */
export function renderCaret(input: string, position: number): string {
  const pos = Math.max(0, Math.min(position, input.length));
  const lineStart = Math.max(input.lastIndexOf('\n', pos - 1), input.lastIndexOf('\r', pos - 1)) + 1;
  let lineEnd = input.length;
  for (let i = pos; i < input.length; i++) {
    const c = input[i];
    if (c === '\n' || c === '\r') {
      lineEnd = i;
      break;
    }
  }
  let line = input.slice(lineStart, lineEnd).replace(/[\u0000-\u001f\u007f]/g, ' ');
  let col = pos - lineStart;
  if (line.length > MAX_SNIPPET) {
    const from = Math.max(0, col - WINDOW_HALF);
    const to = Math.min(line.length, col + WINDOW_HALF);
    const prefix = from > 0 ? '...' : '';
    const suffix = to < line.length ? '...' : '';
    line = prefix + line.slice(from, to) + suffix;
    col = col - from + prefix.length;
  }
  return `  ${line}\n  ${' '.repeat(col)}^`;
}

/**
 * Thrown when an adapter config string (e.g. `pfeiffer[reduction_factor=2]`) or a
 * Python literal inside it cannot be parsed.
 *
 * The message names the 0-based position and shows the input with a caret under it:
 *
 * ```
 * Invalid adapter config string at position 26: expected a value after '='
 *   pfeiffer[reduction_factor=]
 *                             ^
 * ```
 */
export class ConfigParseError extends AdapterKitError {
  /** The whole text that was being parsed. */
  readonly input: string;
  /** 0-based UTF-16 index into {@link ConfigParseError.input} where the problem was found. */
  readonly position: number;
  /** The short reason, without position and snippet (e.g. `expected a value after '='`). */
  readonly reason: string;

  /**
   * @param input - The whole text that was being parsed.
   * @param position - 0-based index into `input` (may equal `input.length`).
   * @param reason - Short human-readable description of the problem.
   * @param options - Optional subject label and cause.
   */
  constructor(input: string, position: number, reason: string, options?: ConfigParseErrorOptions) {
    const subject = options?.subject ?? 'adapter config string';
    super(
      'CONFIG_PARSE_ERROR',
      `Invalid ${subject} at position ${position}: ${reason}\n${renderCaret(input, position)}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.input = input;
    this.position = position;
    this.reason = reason;
  }
}
