/**
 * Errors the CLI raises itself. Library errors (`AdapterKitError` and subclasses) pass through unchanged: their
 * messages already name the file, field or value at fault.
 */

/** A problem the user can fix (bad file, missing tokenizer, ...): exit code 1. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  /** Exit code of the process. */
  readonly exitCode: number = 1;
}

/** Wrong command line (unknown option, missing value): exit code 2, as getopt-style tools do. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
}
