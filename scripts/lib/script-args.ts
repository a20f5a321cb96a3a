/**
 * Command-line parsing of the repository's scripts (`pnpm parity`, …): `--help`/`-h` prints the usage and exits 0;
 * an unknown option or a stray argument prints one error line plus a pointer to `--help` and exits 2 — it never
 * falls through to running everything with the option ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The values of the options given (`parseArgs`, strict), or exit as described above. */
export function parseScriptArgs<O extends Options>(
  script: string,
  usage: string,
  options: O,
  argv: readonly string[] = process.argv.slice(2),
): { values: Record<keyof O, string | boolean | undefined> } {
  // pnpm passes a literal `--` through when the user writes `pnpm parity -- --cases …`
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return { values: values as unknown as Record<keyof O, string | boolean | undefined> };
  } catch (err) {
    console.error(`${script}: ${(err as Error).message.split('\n')[0]} (see 'pnpm ${script} --help')`);
    process.exit(2);
  }
}
