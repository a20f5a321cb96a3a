/**
 * First use from the registry, simulated: every workspace package is built and packed (`pnpm pack`, as publishing
 * would), the tarballs are installed with npm into a fresh project OUTSIDE the repository (a CommonJS project, as
 * `npm init` makes), and then, from that project:
 *
 * - the README's "Example" block runs verbatim as an ES module (`example.mjs`), and as CommonJS (`example.cjs`: its
 *   `import` lines become `require` calls and the rest is wrapped in an async function, nothing else changes);
 * - ES module and CommonJS consumers share one `@tensorflow/tfjs-core` (one engine, one kernel registry, one backend);
 * - TypeScript type-checks a CommonJS and an ES module file importing the packages (`module: node16`, no TS1479);
 * - `adapterkit train --model embedded` on a generated 3-class CSV (330 easy sentences) with default flags reaches
 *   ≥ 90 % test accuracy, and `adapterkit predict` labels texts with the saved adapter;
 * - `adapterkit train --workers 2` trains data-parallel from the installed tarballs (the CLI's `dist/replica.js` in
 *   each worker of `@adapterkit/data-parallel`).
 *
 * Slow (build + pack + npm install): the packages are built and packed once, into one temporary folder, for all
 * the tests of this file. npm installs the external dependencies from its cache when it can (`--prefer-offline`),
 * else from the registry. `ADAPTERKIT_PACKED_TRAIN_ARGS` appends flags to the `adapterkit train` run (to compare
 * with tuned flags); the accuracy assertion holds either way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
/** Packages a user would not install into an application: the test harness (peer: vitest). */
const NOT_INSTALLED = new Set(['@adapterkit/testkit']);
const ENV = { ...process.env, ADAPTERKIT_THREADS: '1', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

let work = '';
let project = '';

/** The README's ```ts block under "## Example". */
export function readmeExample(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Example\n'));
  const block = section && /```ts\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block in its "Example" section');
  return `${block[1]!}\n`;
}

/** The same program as CommonJS: `import { a, b } from 'x';` → `const { a, b } = require('x');`, the rest in an async IIFE. */
export function toCommonJs(esm: string): string {
  const lines = esm.split('\n');
  const requires: string[] = [];
  const body: string[] = [];
  for (const line of lines) {
    const m = /^import \{([^}]+)\} from '([^']+)';$/.exec(line);
    if (m) requires.push(`const {${m[1]!}} = require('${m[2]!}');`);
    else if (/^import /.test(line)) throw new Error(`toCommonJs: unsupported import line: ${line}`);
    else body.push(line);
  }
  return `${requires.join('\n')}\n(async () => {\n${body.join('\n')}\n})().catch((err) => {\n  console.error(err);\n  process.exit(1);\n});\n`;
}

/** 330 easy sentences of three topics (110 each), deterministic. */
export function topicSentences(): Array<{ text: string; label: string }> {
  const topics: Record<string, { subjects: string[]; verbs: string[]; objects: string[] }> = {
    sports: { subjects: ['the team', 'our striker', 'the goalkeeper', 'the coach', 'the captain'], verbs: ['won the match', 'scored a goal', 'lost the game', 'trained for the final', 'played football'], objects: ['in the stadium', 'at the league final', 'before the fans', 'this season', 'on the pitch'] },
    weather: { subjects: ['heavy rain', 'a cold wind', 'the storm', 'bright sunshine', 'thick snow'], verbs: ['is expected', 'will fall', 'is coming', 'was forecast', 'covered the sky'], objects: ['tomorrow morning', 'over the coast', 'in the north', 'all weekend', 'tonight'] },
    food: { subjects: ['the chef', 'my mother', 'the baker', 'our cook', 'the restaurant'], verbs: ['cooked fresh pasta', 'baked sweet bread', 'served hot soup', 'made a cake', 'fried some fish'], objects: ['for dinner', 'with butter and salt', 'in the kitchen', 'for lunch', 'with garlic'] },
  };
  const out: Array<{ text: string; label: string }> = [];
  for (const [label, t] of Object.entries(topics)) {
    let n = 0;
    for (let i = 0; n < 110; i++) {
      const s = t.subjects[i % 5]!;
      const v = t.verbs[Math.floor(i / 5) % 5]!;
      const o = t.objects[Math.floor(i / 25) % 5]!;
      out.push({ text: `${s} ${v} ${o}`, label });
      n++;
    }
  }
  // interleave the topics (seeded order), so a file split keeps all three in each part
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Run a command (asynchronously, so the test worker keeps answering vitest while npm, pnpm or a training run take
 * minutes); never rejects, the caller checks `code`.
 */
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 600_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => done({ code: -1, stdout, stderr: `${stderr}${String(err)}` }));
    child.on('close', (code, signal) => done({ code: code ?? -1, stdout, stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr }));
  });
}

/** {@link run}, failing with the command's output when it exits non-zero. */
async function mustRun(cmd: string, args: readonly string[], cwd: string, timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Workspace packages that publish (not private), with their folders. */
function publishable(): Array<{ name: string; dir: string }> {
  const out: Array<{ name: string; dir: string }> = [];
  for (const parent of ['packages', 'apps']) {
    for (const entry of readdirSync(join(ROOT, parent), { withFileTypes: true })) {
      const dir = join(ROOT, parent, entry.name);
      if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue;
      const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; private?: boolean };
      if (!m.private) out.push({ name: m.name, dir });
    }
  }
  return out;
}

beforeAll(async () => {
  // build every package once (turbo's cache makes this quick when nothing changed)
  await mustRun('pnpm', ['-s', 'turbo', 'run', 'build', '--output-logs=errors-only'], ROOT, 1_200_000);
  work = mkdtempSync(join(tmpdir(), 'adapterkit-packed-'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const deps: Record<string, string> = {};
  for (const p of publishable()) {
    const json = await mustRun('pnpm', ['pack', '--json', '--pack-destination', tarballs], p.dir);
    const file = (JSON.parse(json.slice(json.indexOf('{'))) as { filename: string }).filename;
    if (!NOT_INSTALLED.has(p.name)) deps[p.name] = `file:${resolve(tarballs, file)}`;
  }
  project = join(work, 'app');
  mkdirSync(project);
  // what `npm init -y` writes (CommonJS: no "type"), with the tarballs as dependencies; `overrides` makes the
  // packages' own dependencies on each other resolve to the same tarballs, never to the registry
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: deps, overrides: deps }, null, 2)}\n`);
  await mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project, 900_000);
}, 2_400_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('installed from packed tarballs, outside the repository', () => {
  it('is outside the repository and installed what it packed', () => {
    expect(project.startsWith(ROOT)).toBe(false);
    for (const name of ['@adapterkit/core', '@adapterkit/pipelines', '@adapterkit/bert-mini', 'adapterkit']) expect(existsSync(join(project, 'node_modules', name, 'package.json')), name).toBe(true);
    expect(existsSync(join(project, 'node_modules', '@adapterkit', 'bert-mini', 'dist', 'model', 'model.safetensors'))).toBe(true);
  });

  const example = readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  for (const [kind, file, code] of [
    ['an ES module', 'example.mjs', example],
    ['CommonJS', 'example.cjs', toCommonJs(example)],
  ] as const) {
    it(`runs the README Example as ${kind}`, async () => {
      rmSync(join(project, 'out'), { recursive: true, force: true });
      writeFileSync(join(project, file), code);
      const r = await run('node', [file], project);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^\[ 2, \d+, 256 \]$/m); // lastHiddenState.shape
      expect(r.stdout).toMatch(/sentiment/); // the adapter summary
      expect(r.stdout).toMatch(/\[ \{ label: '(positive|negative)', score: 0\.\d+ \} \]/); // the pipeline's result
      expect(existsSync(join(project, 'out', 'sentiment', 'adapter_config.json'))).toBe(true);
      expect(existsSync(join(project, 'out', 'sentiment', 'head_config.json'))).toBe(true);
    }, 300_000);
  }

  it('gives ES module and CommonJS consumers one tfjs-core: one engine, kernel registry and backend', async () => {
    writeFileSync(
      join(project, 'one-tf.mjs'),
      `import { createRequire } from 'node:module';
import * as esmTf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/backends';
const require = createRequire(import.meta.url);
const cjsTf = require('@tensorflow/tfjs-core');
const { initBackend: initCjs } = require('@adapterkit/backends');
const { AdapterModel } = require('@adapterkit/core');
await initBackend('cpu');
const kernelsEsm = esmTf.getKernelsForBackend('cpu').length;
console.log(JSON.stringify({
  sameEngine: esmTf.engine() === cjsTf.engine(),
  backendEsm: esmTf.getBackend(), backendCjs: cjsTf.getBackend(),
  kernels: [kernelsEsm, cjsTf.getKernelsForBackend('cpu').length],
  cjsInit: typeof initCjs, cjsCore: typeof AdapterModel,
}));
`,
    );
    const r = await run('node', ['one-tf.mjs'], project);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sameEngine: boolean; backendEsm: string; backendCjs: string; kernels: [number, number]; cjsInit: string; cjsCore: string };
    expect(o.sameEngine).toBe(true);
    expect(o.backendCjs).toBe('cpu');
    expect(o.backendEsm).toBe('cpu');
    expect(o.kernels[0]).toBeGreaterThan(0);
    expect(o.kernels[1]).toBe(o.kernels[0]);
    expect([o.cjsInit, o.cjsCore]).toEqual(['function', 'function']);
  }, 120_000);

  it('type-checks CommonJS and ES module TypeScript consumers (module node16: no TS1479)', async () => {
    const src = `import { AdapterModel } from '@adapterkit/core';
import { loadEmbedded, pipeline } from '@adapterkit/pipelines';
import { loadTokenizer } from '@adapterkit/data';
import { embeddedModelDir } from '@adapterkit/bert-mini';
export async function main(): Promise<number> {
  const { model } = await loadEmbedded();
  const tokenizer = await loadTokenizer(embeddedModelDir());
  const ok: boolean = model instanceof AdapterModel && typeof pipeline === 'function' && tokenizer.vocabSize > 0;
  model.dispose();
  return ok ? 0 : 1;
}
`;
    writeFileSync(join(project, 'check-cjs.ts'), src);
    writeFileSync(join(project, 'check-esm.mts'), src);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check-cjs.ts', 'check-esm.mts'] }));
    const r = await run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 120_000);

  it('trains with `adapterkit train --model embedded` (default flags) to ≥ 90 % on a 3-class CSV, then predicts', async () => {
    const rows = topicSentences();
    const csv = (part: typeof rows): string => `text,label\n${part.map((r) => `${r.text},${r.label}`).join('\n')}\n`;
    writeFileSync(join(project, 'train.csv'), csv(rows.slice(0, 270)));
    writeFileSync(join(project, 'test.csv'), csv(rows.slice(270)));
    const extra = (process.env['ADAPTERKIT_PACKED_TRAIN_ARGS'] ?? '').split(/\s+/).filter((a) => a.length > 0);
    const bin = join(project, 'node_modules', '.bin', 'adapterkit');
    const train = await run(bin, ['train', '--model', 'embedded', '--train', 'train.csv', '--test', 'test.csv', '--out', 'out/topics', ...extra], project, 900_000);
    expect(train.code, train.stderr.slice(-3000)).toBe(0);
    // ADAPTERKIT_THREADS=1 here: `--workers auto` trains in one process (the data-parallel path is the next test's)
    if (!extra.includes('--workers')) expect(train.stderr).toContain('adapterkit: note: training in one process (');
    const m = /\(60 examples\): .*accuracy (\d\.\d+)/.exec(train.stdout);
    expect(m, train.stdout).not.toBeNull();
    const accuracy = Number(m![1]);
    console.log(`adapterkit train --model embedded ${extra.join(' ') || '(default flags)'}: test accuracy ${accuracy}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    const predict = await run(bin, ['predict', '--model', 'embedded', '--adapter', 'out/topics', 'heavy rain is expected tonight', 'the chef baked sweet bread for lunch'], project);
    expect(predict.code, predict.stderr).toBe(0);
    // LABEL<TAB>PROBABILITY<TAB>INPUT, the input echoed
    const lines = predict.stdout.trim().split('\n').filter((l) => /^[^\t]+\t\d\.\d{4}\t/.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^weather\t\d\.\d{4}\theavy rain is expected tonight$/);
    expect(lines[1]).toMatch(/^food\t\d\.\d{4}\tthe chef baked sweet bread for lunch$/);
  }, 900_000);

  it('trains data-parallel from the tarballs (`--workers 2`: the installed dist/replica.js and data-parallel worker)', async () => {
    const bin = join(project, 'node_modules', '.bin', 'adapterkit');
    const train = await run(bin, ['train', '--model', 'embedded', '--train', 'train.csv', '--test', 'test.csv', '--out', 'out/topics-workers', '--workers', '2', '--max-steps', '6', '--max-length', '32'], project, 600_000);
    expect(train.code, train.stderr.slice(-3000)).toBe(0);
    expect(train.stderr).toContain('adapterkit: note: training on 2 workers × 1 thread (data-parallel, ');
    expect(train.stdout).toMatch(/trained 6 steps/);
    expect(train.stdout).toMatch(/test \(60 examples\): loss \S+ {2}accuracy \S+/);
    expect(existsSync(join(project, 'out', 'topics-workers', 'adapter.safetensors'))).toBe(true);
  }, 600_000);
});
