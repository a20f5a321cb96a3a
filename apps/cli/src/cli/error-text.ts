/**
 * How the CLI prints an error: its first line, plus the snippet and caret line of a config-string error, with the
 * library's option names replaced by the flags that set them.
 */

/**
 * Option names of the libraries (`labelColumn` in `@adapterkit/data`, `maxLength` in the tokenizer, …) and the
 * flags that set them; an error the CLI passes on names the flag the user typed.
 */
export const FLAG_NAMES: Readonly<Record<string, string>> = {
  textColumn: '--text-column',
  textPairColumn: '--text-pair-column',
  labelColumn: '--label-column',
  maxLength: '--max-length',
  batchSize: '--batch-size',
  evalBatchSize: '--batch-size',
  maxSteps: '--max-steps',
  warmupSteps: '--warmup-steps',
  weightDecay: '--weight-decay',
  checkpointDir: '--checkpoint-dir',
  checkpointEvery: '--checkpoint-every',
  resumeFrom: '--resume',
  maxNewTokens: '--max-new-tokens',
  hubEndpoint: '--hub-endpoint',
};

const API_NAME = new RegExp(`(?<![\\w-])(${Object.keys(FLAG_NAMES).join('|')})(?![\\w-])`, 'g');

/** `message` with every API option name of {@link FLAG_NAMES} replaced by its flag. */
export function withFlagNames(message: string): string {
  return message.replace(API_NAME, (name) => FLAG_NAMES[name] ?? name);
}

/** A caret line: spaces then a single `^`. */
const CARET = /^\s*\^\s*$/;

/**
 * The lines to print for an error message: the first non-empty line, and — when the message shows the input with a
 * caret under the position at fault (config strings, setups) — that snippet and its caret line, unchanged.
 */
export function errorText(message: string, fallback: string): string[] {
  const lines = message.split('\n');
  const first = lines.map((l) => l.trim()).find((l) => l.length > 0) ?? fallback;
  const caret = lines.findIndex((l) => CARET.test(l));
  const out = [withFlagNames(first)];
  if (caret > 0 && lines[caret - 1]!.trim() !== first) out.push(lines[caret - 1]!, lines[caret]!);
  return out;
}
