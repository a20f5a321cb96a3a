import { BACKEND_NAMES, describeBackend, initBackend, type BackendInfo, type BackendName } from '@adapterkit/backends';
import { suggestNearest } from '@adapterkit/core';
import { version } from '../package.json';
import { parseCommandLine, splitCommand } from './cli/args';
import type { CommandSpec, Context } from './cli/command';
import { errorText } from './cli/error-text';
import { CliError, UsageError } from './cli/errors';
import { commandHelp, mainHelp } from './cli/help';
import { println, processIo, type Io } from './cli/io';
import { COMMANDS } from './commands';

/**
 * The lines printed for an error: `adapterkit: error: <first line>` with library option names as flags, then the
 * input snippet and caret line of a config-string error.
 */
export function formatError(err: unknown): string[] {
  const text = err instanceof Error ? err.message : String(err);
  const [first, ...rest] = errorText(text, err instanceof Error ? err.name : 'unknown error');
  return [`adapterkit: error: ${first}`, ...rest];
}

/** `$ADAPTERKIT_THREADS`: the default of `--threads` (unset: all cores). */
function threadsFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`ADAPTERKIT_THREADS must be a positive integer, got '${value}'`);
  return n;
}

function makeContext(io: Io, verbose: boolean, backend: BackendName | undefined, threads: number | undefined): Context {
  let selected: Promise<BackendInfo> | undefined;
  const note = (message: string): void => println(io.stderr, `adapterkit: note: ${message}`);
  return {
    io,
    verbose,
    out: (line = '') => println(io.stdout, line),
    note,
    ensureBackend() {
      selected ??= initBackend(backend, threads !== undefined ? { threads } : {}).then((info) => {
        // the backend actually active (tf.getBackend()), its package and threads: always, on stderr
        note(`backend ${describeBackend(info)}`);
        for (const n of info.notes) note(n);
        if (verbose) for (const s of info.skipped) note(`skipped backend ${s.name}: ${s.reason}`);
        return info;
      });
      return selected;
    },
  };
}

/**
 * Run `adapterkit` with `argv` (without `node` and the script). Returns the exit code: 0 on success, 1 when a
 * command fails, 2 for a wrong command line. Errors are printed as one line `adapterkit: error: …` on stderr
 * (with the stack trace under `--verbose`).
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const { command, rest } = splitCommand(argv);
    if (command === undefined) {
      if (rest.includes('--version')) {
        println(io.stdout, version);
        return 0;
      }
      const help = mainHelp(COMMANDS, version);
      if (rest.includes('--help') || rest.includes('-h')) {
        println(io.stdout, help);
        return 0;
      }
      println(io.stderr, help);
      return 2;
    }
    const spec: CommandSpec | undefined = COMMANDS.find((c) => c.name === command);
    if (!spec) {
      const near = suggestNearest(command, COMMANDS.map((c) => c.name));
      throw new UsageError(`unknown command '${command}'${near ? ` (did you mean '${near}'?)` : ''}; run 'adapterkit --help' for the list`);
    }
    const args = parseCommandLine(spec.name, spec.options, spec.positionals !== undefined, rest);
    if (args.flag('help')) {
      println(io.stdout, commandHelp(spec));
      return 0;
    }
    const backend = args.choice('backend', BACKEND_NAMES);
    const threads = args.int('threads', undefined) ?? threadsFromEnv(process.env['ADAPTERKIT_THREADS']);
    await spec.run(args, makeContext(io, verbose, backend, threads));
    return 0;
  } catch (err) {
    for (const line of formatError(err)) println(io.stderr, line);
    if (verbose && err instanceof Error && err.stack) println(io.stderr, err.stack);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
