/**
 * Errors the CLI raises itself. Library errors (`AdapterKitError` and subclasses) pass through unchanged: their
 * messages already name the file, field or value at fault (the CLI only renames API option names to flags).
 */

/** A problem the user can fix (bad file, missing tokenizer, ...): exit code 1. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  /** Exit code of the process. */
  readonly exitCode: number = 1;
  /** Stable machine-readable code, e.g. `CHECKPOINT_EXISTS` (`CLI_ERROR` when none is more specific). */
  readonly code: string;
  constructor(message: string, code = 'CLI_ERROR') {
    super(message);
    this.code = code;
  }
}

/** Wrong command line (unknown option, missing value): exit code 2, as getopt-style tools do. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
  constructor(message: string, code = 'USAGE') {
    super(message, code);
  }
}

/**
 * `--out` holds a checkpoint of an earlier run and neither `--resume` nor `--overwrite` was given
 * (code `CHECKPOINT_EXISTS`, exit code 1).
 */
export class CheckpointExistsError extends CliError {
  override readonly name = 'CheckpointExistsError';
  constructor(
    /** The newest checkpoint found. */
    readonly checkpoint: string,
  ) {
    super(
      `${checkpoint} is a checkpoint of an earlier run: pass --resume to continue it, or --overwrite (same as --no-resume) to start over (which removes the earlier checkpoints)`,
      'CHECKPOINT_EXISTS',
    );
  }
}

/** Ctrl-C (SIGINT) stopped `adapterkit train` (code `INTERRUPTED`, exit code 130 as shells report SIGINT). */
export class InterruptedError extends CliError {
  override readonly name = 'InterruptedError';
  override readonly exitCode = 130;
  constructor(message: string) {
    super(message, 'INTERRUPTED');
  }
}
