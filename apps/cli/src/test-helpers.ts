/** Helpers for the CLI tests: build the binary and run it as a subprocess (or `main()` in-process). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readSafetensors } from '@adapterkit/core';
import { main } from './main';

/** apps/cli. */
export const APP = fileURLToPath(new URL('..', import.meta.url));
/** The repository root. */
export const REPO = join(APP, '..', '..');
/** The golden fixtures. */
export const GOLDEN = join(REPO, 'fixtures', 'golden');
export const GOLDEN_BERT = join(GOLDEN, 'models', 'bert');
export const caseDir = (id: string): string => join(GOLDEN, 'cases', id);

const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve('tsx')).href;
let built: string | undefined;

/**
 * Build the binary with tsup and this package's tsup.config.ts (as `dist/cli.js` is built), into a folder of its
 * own under `.test-build/` so test files running in parallel never clean each other's build. Workspace
 * dependencies stay external; at run time they resolve to their TypeScript sources (`--conditions=source` + the
 * tsx loader), so no other package needs a build. Call {@link removeCli} in `afterAll`.
 */
export function buildCli(): void {
  mkdirSync(join(APP, '.test-build'), { recursive: true });
  const out = mkdtempSync(join(APP, '.test-build', 'run-'));
  const tsup = join(require.resolve('tsup/package.json'), '..', 'dist', 'cli-default.js');
  const r = spawnSync(process.execPath, [tsup, '--out-dir', out], { cwd: APP, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsup build failed:\n${r.stdout}\n${r.stderr}`);
  built = join(out, 'cli.js');
}

/** Remove the build of {@link buildCli}. */
export function removeCli(): void {
  if (built) rmSync(dirname(built), { recursive: true, force: true });
  built = undefined;
}

/** Result of one CLI run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link cli}. */
export interface CliOptions {
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly cwd?: string;
  /** Polled every 10 ms while the process runs; once it returns true the process is killed with SIGKILL. */
  readonly killWhen?: () => boolean;
  /** Polled every 10 ms while the process runs; the first time it returns true the process gets SIGINT (Ctrl-C). */
  readonly interruptWhen?: (stderr: string) => boolean;
}

/** Run the built binary with `args` (stdin: `input`, or closed). `signal` is the signal that ended it, if any. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<RunResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (!built) throw new Error('call buildCli() first');
    const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', built, ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const poll =
      options.killWhen || options.interruptWhen
        ? setInterval(() => {
            if (options.killWhen?.()) child.kill('SIGKILL');
            if (!interrupted && options.interruptWhen?.(stderr)) {
              interrupted = true;
              child.kill('SIGINT');
            }
          }, 10)
        : undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Largest |a − b| over the tensors of `ref` (except `*_ejected` ones), each of which must be in `ours` with the
 * same shape.
 */
export async function maxDiff(oursPath: string, refPath: string): Promise<number> {
  const ours = (await readSafetensors(oursPath)).tensors;
  const ref = (await readSafetensors(refPath)).tensors;
  let worst = 0;
  for (const [key, r] of ref) {
    if (key.endsWith('_ejected')) continue;
    const o = ours.get(key);
    if (!o) throw new Error(`${oursPath} lacks ${key}`);
    if (o.shape.join() !== r.shape.join()) throw new Error(`${key}: shape [${o.shape}] vs [${r.shape}]`);
    for (let i = 0; i < r.data.length; i++) worst = Math.max(worst, Math.abs(o.data[i]! - r.data[i]!));
  }
  return worst;
}

/** Run `main()` in this process with captured streams (for error cases: no process start-up cost). */
export async function runMain(args: readonly string[], options: { input?: string } = {}): Promise<RunResult> {
  const capture = (): PassThrough & { text: () => string } => {
    const chunks: Buffer[] = [];
    const s = new PassThrough() as PassThrough & { text: () => string };
    s.on('data', (d: Buffer) => chunks.push(d));
    s.text = () => Buffer.concat(chunks).toString('utf8');
    return s;
  };
  const stdout = capture();
  const stderr = capture();
  const code = await main(args, { stdout, stderr, stdin: Readable.from([options.input ?? '']), env: process.env, cwd: REPO });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Start the built binary with `args` and return the child process (for long-running commands such as `serve`). */
export function spawnCli(args: readonly string[], options: { readonly env?: Record<string, string> } = {}): ChildProcess {
  if (!built) throw new Error('call buildCli() first');
  return spawn(process.execPath, ['--import', TSX, '--conditions=source', built, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Short movie reviews, the positive class of the tests' sentiment task. */
export const POS = ['great movie', 'really good film', 'i loved it', 'wonderful acting', 'a great story', 'good fun', 'loved the music', 'wonderful and great'];
/** The negative class. */
export const NEG = ['terrible movie', 'really bad film', 'i hated it', 'awful acting', 'a boring story', 'bad and dull', 'hated the music', 'awful and terrible'];

/** A `text,label` CSV of {@link POS} (`pos`) and {@link NEG} (`neg`), `repeats` times over; returns `path`. */
export function writeReviewsCsv(path: string, repeats: number): string {
  const rows = ['text,label'];
  for (let i = 0; i < repeats; i++) rows.push(...POS.map((t) => `${t},pos`), ...NEG.map((t) => `${t},neg`));
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

/** Copy a model folder's `config.json` and `model.safetensors` (no tokenizer) to `to`; returns `to`. */
export function copyModel(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(from, f), join(to, f));
  return to;
}
