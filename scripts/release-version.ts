/**
 * `pnpm release:version [--dry-run] [--no-tag]`: cut a release from the pending changesets.
 *
 * 1. refuses to run on a dirty work tree (the release commit must hold only the release);
 * 2. `changeset version`: every package with a changeset (and every dependent that needs it) gets its new version
 *    and a `CHANGELOG.md` entry; the changeset files are consumed;
 * 3. checks the result: no changeset left, a `CHANGELOG.md` in every bumped package, and no major bump unless
 *    `--allow-major` (a major of a method package means a core release left its peer range: see CONTRIBUTING.md);
 * 4. commits `release: version packages` with the version table, then `changeset tag` creates one git tag
 *    `<name>@<version>` per public package (private ones, like the playground, are versioned but not tagged).
 *
 * `--dry-run` does all of it in a temporary git worktree of HEAD (your work tree, branch and tags untouched),
 * prints the versions, the tags it would create and a CHANGELOG excerpt, and removes the worktree. `--no-tag`
 * commits without tagging. Publishing is separate: `pnpm release:check`, then `pnpm changeset publish`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHANGESET_BIN = join(ROOT, 'node_modules', '.bin', 'changeset');
const WORKSPACE_DIRS = ['packages', 'apps', 'examples'];
const ARGS = new Set(process.argv.slice(2).filter((a) => a !== '--'));
const KNOWN = ['--dry-run', '--no-tag', '--allow-major'];

interface PackageState {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  readonly private: boolean;
}

function packages(root: string): PackageState[] {
  const out: PackageState[] = [];
  for (const parent of WORKSPACE_DIRS) {
    const base = join(root, parent);
    if (!existsSync(base)) continue;
    for (const e of readdirSync(base, { withFileTypes: true })) {
      const file = join(base, e.name, 'package.json');
      if (!e.isDirectory() || !existsSync(file)) continue;
      const m = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string; private?: boolean };
      out.push({ dir: join(base, e.name), name: m.name, version: m.version, private: m.private === true });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function pendingChangesets(root: string): string[] {
  return readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
}

const major = (v: string): number => Number(v.split('.')[0]);

/** Cut the release in `root`; returns the exit code. */
function cut(root: string, dryRun: boolean): number {
  const pending = pendingChangesets(root);
  if (pending.length === 0) {
    console.log('release:version: no pending changesets, nothing to release');
    return 1;
  }
  const before = new Map(packages(root).map((p) => [p.name, p]));
  console.log(`release:version: ${pending.length} changesets pending; running changeset version${dryRun ? ' (dry run, in a temporary worktree)' : ''}`);
  execFileSync(CHANGESET_BIN, ['version'], { cwd: root, stdio: 'inherit' });
  const after = packages(root);
  const problems: string[] = [];
  const left = pendingChangesets(root);
  if (left.length > 0) problems.push(`changesets left after changeset version: ${left.join(', ')}`);
  const rows: string[] = [];
  const tags: string[] = [];
  for (const p of after) {
    const old = before.get(p.name)?.version ?? '(new)';
    const changed = old !== p.version;
    const changelog = join(p.dir, 'CHANGELOG.md');
    if (changed && !existsSync(changelog)) problems.push(`${p.name} was bumped but has no CHANGELOG.md`);
    if (changed && old !== '(new)' && major(p.version) > major(old) && !ARGS.has('--allow-major')) {
      problems.push(`${p.name} would get a major release (${old} → ${p.version}); pass --allow-major if that is meant`);
    }
    const tagged = !p.private;
    if (tagged) tags.push(`${p.name}@${p.version}`);
    rows.push(`  ${p.name.padEnd(28)} ${old.padStart(7)} → ${p.version.padEnd(7)}${changed ? '' : ' (unchanged)'}${p.private ? ' (private: not tagged)' : ''}  ${relative(root, changelog)}`);
  }
  console.log(`versions:\n${rows.join('\n')}`);
  if (problems.length > 0) {
    console.log(`release:version: problems, nothing committed:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  const table = rows.map((r) => r.trim().replace(/\s+/g, ' ')).join('\n');
  if (dryRun) {
    const core = after.find((p) => p.name === '@adapterkit/core');
    if (core && existsSync(join(core.dir, 'CHANGELOG.md'))) {
      console.log(`\n${relative(root, join(core.dir, 'CHANGELOG.md'))} (first lines):\n${readFileSync(join(core.dir, 'CHANGELOG.md'), 'utf8').split('\n').slice(0, 8).join('\n')}\n`);
    }
    console.log(`would commit 'release: version packages' (${git(root, 'status', '--porcelain').trim().split('\n').length} paths changed) and create ${tags.length} tags:\n  ${tags.join('\n  ')}`);
    return 0;
  }
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', `release: version packages\n\n${table}\n`);
  console.log(`committed ${git(root, 'rev-parse', '--short', 'HEAD').trim()} 'release: version packages'`);
  if (ARGS.has('--no-tag')) {
    console.log('not tagged (--no-tag); tag later with: pnpm changeset tag');
    return 0;
  }
  execFileSync(CHANGESET_BIN, ['tag'], { cwd: root, stdio: 'inherit' });
  const made = tags.filter((t) => git(root, 'tag', '--list', t).trim() === t);
  console.log(`tags: ${made.length} of ${tags.length} present (${made.join(', ')})`);
  return made.length === tags.length ? 0 : 1;
}

function main(): number {
  const unknown = [...ARGS].filter((a) => !KNOWN.includes(a));
  if (unknown.length > 0) {
    console.error(`release:version: unknown argument ${unknown.join(', ')} (options: ${KNOWN.join(', ')})`);
    return 2;
  }
  if (!ARGS.has('--dry-run')) {
    const dirty = git(ROOT, 'status', '--porcelain').trim();
    if (dirty) {
      console.error(`release:version: the work tree has uncommitted changes; commit or stash them first:\n${dirty}`);
      return 1;
    }
    return cut(ROOT, false);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'release-version-'));
  const wt = join(tmp, 'repo');
  git(ROOT, 'worktree', 'add', '--detach', wt, 'HEAD');
  try {
    return cut(wt, true);
  } finally {
    git(ROOT, 'worktree', 'remove', '--force', wt);
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exit(main());
