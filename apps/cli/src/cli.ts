#!/usr/bin/env node
/**
 * The `adapterkit` command-line tool: train, evaluate, predict, inspect, merge and convert adapters.
 * See `adapterkit --help`.
 */
import { formatError, main } from './main';

/**
 * An error nothing awaited (a stray callback or promise): our message and exit code 1, like any failed command, not
 * a dependency's handler output (tfjs-backend-wasm's rethrowing listener printed 39 KB of its source, exit code 7).
 */
function uncaught(err: unknown): void {
  for (const line of formatError(err)) process.stderr.write(`${line}\n`);
  if (process.argv.includes('--verbose') && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

process.exitCode = await main(process.argv.slice(2));
