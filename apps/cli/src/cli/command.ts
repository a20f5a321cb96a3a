import type { BackendInfo } from '@adapterkit/backends';
import type { Args, OptionSpec } from './args';
import type { Io } from './io';

/** What a running command can use besides its arguments. */
export interface Context {
  readonly io: Io;
  readonly verbose: boolean;
  /** A result line on stdout. */
  out(line?: string): void;
  /** A remark on stderr (`adapterkit: note: …`). */
  note(message: string): void;
  /** Select the tfjs backend (once; `--backend`, `--threads`). Call before creating tensors. */
  ensureBackend(): Promise<BackendInfo>;
}

/** A sub-command of `adapterkit`. */
export interface CommandSpec {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage lines without the leading `adapterkit <name>`. */
  readonly usage: readonly string[];
  /** Paragraph lines printed after the usage. */
  readonly details?: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Help name of the positional arguments (e.g. `[TEXT ...]`); none allowed when absent. */
  readonly positionals?: string;
  /** Full command lines. */
  readonly examples: readonly string[];
  run(args: Args, ctx: Context): Promise<void>;
}
