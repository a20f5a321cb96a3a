/**
 * `pnpm release:check [--skip-build] [--skip-install] [--only NAME[,NAME]]`: release hygiene of every workspace
 * package.
 *
 * 1. builds every package (`pnpm build --continue`, i.e. turbo → tsup), unless `--skip-build`;
 * 2. runs publint on each package (packing with pnpm, as `pnpm publish` would): errors and warnings fail,
 *    suggestions are printed;
 * 3. packs each package (`pnpm pack --json` into a temporary folder) and checks the tarball: it holds
 *    `package.json`, `README.md`, the files its `exports`/`main`/`types` name, optionally `LICENSE*` /
 *    `CHANGELOG.md`, and otherwise only `dist/**` without tests or fixtures. A native-addon package (one whose
 *    `files` names `prebuilds`) may also ship its prebuilt binaries (`prebuilds/<platform>-<arch>[-<libc>]/*.node`,
 *    at least one) and the C/C++ sources and `binding.gyp` a node-gyp rebuild needs (under `csrc/`), and must not
 *    have an install script (installing must never need a compiler).
 * 4. for every public package (not `private`), unless `--skip-install`: `npm publish --dry-run` of its packed
 *    tarball (what `changeset publish` uploads), then a standalone install (`scripts/lib/standalone-install.ts`): an
 *    empty temporary project that depends on the tarball and its required peer dependencies only, installed with
 *    strict peer dependencies; every workspace package it reaches (peer or dependency, at any depth) comes from its
 *    own tarball, everything else from the registry (pnpm's store first); then `import()` of the package in Node
 *    (ESM), or `--version` of its `bin` for a package without exports.
 *
 * Prints one `PASS|FAIL <package>` line per package and exits 1 on any failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { publishDryRun, standaloneInstall } from './lib/standalone-install';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Folders of workspace packages (pnpm-workspace.yaml). */
const WORKSPACE_DIRS = ['packages', 'apps', 'examples'];

/** Files a tarball may hold besides `dist/**`. */
const ALLOWED_TOP = /^(package\.json|README\.md|LICENSE(\.md|\.txt)?|CHANGELOG\.md)$/;
/** What must never ship, even under dist/. */
const FORBIDDEN = /(^|\/)(src|fixtures?|__tests__|test|tests)\/|\.test(-d)?\.[cm]?[jt]sx?(\.map)?$|\.spec\.[cm]?[jt]sx?$|(^|\/)tsconfig[^/]*\.json$/;

/** What a native-addon package may ship besides the above: prebuilt binaries and its node-gyp sources. */
const NATIVE_ALLOWED = /^(prebuilds\/(linux|darwin|win32|freebsd)-(x64|arm64|ia32|arm)(-(glibc|musl))?\/[\w.-]+\.node|csrc\/([\w.-]+\.(c|cc|cpp|h|hpp)|binding\.gyp))$/;

/** Whether a manifest declares a native addon with prebuilds (`files` names `prebuilds`). */
function isNativeAddon(manifest: Record<string, unknown>): boolean {
  const files = manifest['files'];
  return Array.isArray(files) && files.some((f) => typeof f === 'string' && /^(\.\/)?prebuilds\/?/.test(f));
}

interface Workspace {
  readonly dir: string;
  readonly name: string;
  readonly manifest: Record<string, unknown>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function workspaces(all = false): Workspace[] {
  const only = all ? undefined : arg('only')?.split(',').map((s) => s.trim());
  const out: Workspace[] = [];
  for (const parent of WORKSPACE_DIRS) {
    const base = join(ROOT, parent);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const dir = join(base, entry.name);
      if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue;
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      const name = String(manifest['name']);
      if (!only || only.includes(name)) out.push({ dir, name, manifest });
    }
  }
  return out;
}

/**
 * Relative paths the manifest points at (`exports` and `imports` leaves except under the `source` condition, which
 * may itself hold conditions, `main`, `types`, `bin`).
 */
function entryFiles(manifest: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, key?: string): void => {
    if (key === 'source') return;
    if (typeof v === 'string') {
      out.add(v.replace(/^\.\//, ''));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, k);
    }
  };
  walk(manifest['exports']);
  walk(manifest['imports']);
  for (const field of ['main', 'module', 'types', 'bin']) walk(manifest[field]);
  return [...out];
}

/** Problems of a tarball's file list. */
function tarballProblems(files: readonly string[], manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const native = isNativeAddon(manifest);
  for (const f of files) {
    if (native && NATIVE_ALLOWED.test(f)) continue;
    if (!(ALLOWED_TOP.test(f) || f.startsWith('dist/')) || FORBIDDEN.test(f)) problems.push(`ships '${f}' (only package.json, README.md, LICENSE, CHANGELOG.md and dist/** may ship${native ? ', and a native addon\'s prebuilds/<platform>-<arch>/*.node and csrc/ sources' : ''})`);
  }
  if (native) {
    if (!files.some((f) => f.startsWith('prebuilds/') && f.endsWith('.node'))) problems.push('names prebuilds in files but ships no prebuilds/<platform>-<arch>/*.node');
    const scripts = (manifest['scripts'] ?? {}) as Record<string, unknown>;
    for (const hook of ['preinstall', 'install', 'postinstall']) if (scripts[hook]) problems.push(`has a '${hook}' script: installing a native addon must not need a compiler (ship prebuilds; make rebuilding opt-in)`);
  }
  if (!files.includes('README.md')) problems.push('has no README.md');
  for (const f of entryFiles(manifest)) if (!files.includes(f)) problems.push(`lacks '${f}', named in package.json`);
  return problems;
}

/** Pack a package into `dest` as `pnpm publish` would; returns the tarball's path and its file list. */
function pack(ws: Workspace, dest: string): { tarball: string; files: string[] } {
  const json = execFileSync('pnpm', ['pack', '--json', '--pack-destination', dest], { cwd: ws.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const parsed = JSON.parse(json.slice(json.indexOf('{'))) as { filename: string; files: Array<{ path: string }> };
  const tarball = isAbsolute(parsed.filename) ? parsed.filename : join(dest, basename(parsed.filename));
  return { tarball, files: parsed.files.map((f) => f.path).sort() };
}

async function check(ws: Workspace, packDir: string, tarballs: Map<string, string>): Promise<string[]> {
  const problems: string[] = [];
  const { messages, pkg } = await publint({ pkgDir: ws.dir, pack: 'pnpm', level: 'suggestion' });
  for (const m of messages) {
    const text = `publint ${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`;
    if (m.type === 'suggestion') console.log(`  note ${ws.name}: ${text}`);
    else problems.push(text);
  }
  const { tarball, files } = pack(ws, packDir);
  tarballs.set(ws.name, tarball);
  problems.push(...tarballProblems(files, ws.manifest).map((p) => `tarball ${p}`));
  console.log(`  ${ws.name}: ${files.length} files packed (${files.filter((f) => !f.startsWith('dist/')).join(', ')}, dist/**)`);
  return problems;
}

async function main(): Promise<void> {
  const list = workspaces();
  let buildFailed = false;
  if (!process.argv.includes('--skip-build')) {
    console.log('building every package (pnpm build --continue)…');
    try {
      execFileSync('pnpm', ['build', '--continue'], { cwd: ROOT, stdio: 'inherit' });
    } catch {
      buildFailed = true; // turbo printed which builds failed; their packages fail the checks below
    }
  }
  const packDir = mkdtempSync(join(tmpdir(), 'release-check-'));
  const tarballs = new Map<string, string>();
  const results = new Map<string, string[]>();
  // Every workspace package is packed (a standalone install takes the workspace packages it reaches from tarballs),
  // but only the selected ones are reported.
  const selected = new Set(list.map((w) => w.name));
  for (const ws of workspaces(true)) {
    if (selected.has(ws.name)) results.set(ws.name, await check(ws, packDir, tarballs));
    else tarballs.set(ws.name, pack(ws, packDir).tarball);
  }
  if (!process.argv.includes('--skip-install')) {
    const manifests = new Map(workspaces(true).map((w) => [w.name, w.manifest]));
    const started = performance.now();
    for (const ws of list) {
      if (ws.manifest['private'] === true) continue;
      const problems = results.get(ws.name)!;
      problems.push(...publishDryRun(tarballs.get(ws.name)!));
      const r = standaloneInstall(ws.name, tarballs, manifests);
      console.log(`  ${ws.name}: ${r.summary}`);
      problems.push(...r.problems);
    }
    console.log(`  publish dry-runs and standalone installs: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  rmSync(packDir, { recursive: true, force: true });
  let failed = 0;
  for (const ws of list) {
    const problems = results.get(ws.name)!;
    const where = relative(ROOT, ws.dir);
    if (problems.length === 0) {
      console.log(`PASS ${ws.name} (${where})`);
    } else {
      failed++;
      console.log(`FAIL ${ws.name} (${where})`);
      for (const p of problems) console.log(`  - ${p}`);
    }
  }
  if (buildFailed) console.log('the build failed (see turbo\'s output above)');
  console.log(`${list.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 || buildFailed ? 1 : 0);
}

await main();
