/**
 * Run the built `adapterkit` CLI from the repository's scripts (`pnpm start`, `pnpm pretrain:embedded`), whose
 * package.json entries build it first with `turbo run build --filter=adapterkit...`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';

/** The built binary. */
export const CLI_PATH = resolve(import.meta.dirname, '../../apps/cli/dist/cli.js');

/** Exit with a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (existsSync(CLI_PATH)) return;
  console.error(`${relative(process.cwd(), CLI_PATH)} is missing: build the CLI first (turbo run build --filter=adapterkit...)`);
  process.exit(1);
}

/** An argument as a shell would need it (long texts shortened for display). */
function quote(a: string): string {
  if (/^[\w./=-]+$/.test(a)) return a;
  const shown = a.length > 40 ? `${a.slice(0, 37).replace(/\n/g, '\\n')}…` : a;
  return `'${shown}'`;
}

/**
 * Print `$ adapterkit <args>` and run it (in `cwd`, default this process's), stderr to the terminal. Its stdout goes
 * to the terminal, or is returned when `capture`. Rejects on a non-zero exit.
 */
export function adapterkit(args: readonly string[], { capture = false, cwd }: { capture?: boolean; cwd?: string } = {}): Promise<string> {
  console.log(`\n$ adapterkit ${args.map(quote).join(' ')}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { ...(cwd ? { cwd } : {}), stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', fail);
    child.on('close', (code, signal) => (code === 0 ? done(stdout) : fail(new Error(`adapterkit ${args[0]} exited with ${signal ?? code}`))));
  });
}
