/**
 * The install half of `pnpm release:check`: a package's tarball, installed on its own into an empty project with
 * strict peer dependencies, must install and import. Tool code (not shipped).
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Manifest = Record<string, unknown>;

/** Output of a failed child process, trimmed to its last lines. */
function failure(err: unknown, lines = 15): string {
  const e = err as { stdout?: Buffer | string; stderr?: Buffer | string; message?: string };
  const text = `${e.stdout?.toString() ?? ''}\n${e.stderr?.toString() ?? ''}`.trim() || String(e.message ?? err);
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n      ');
}

/** The required (non-optional) peer dependencies of a manifest. */
export function requiredPeers(manifest: Manifest): Record<string, string> {
  const peers = (manifest['peerDependencies'] ?? {}) as Record<string, string>;
  const meta = (manifest['peerDependenciesMeta'] ?? {}) as Record<string, { optional?: boolean }>;
  return Object.fromEntries(Object.entries(peers).filter(([name]) => meta[name]?.optional !== true));
}

/**
 * The consumer project's package.json: the package and its required peers as dependencies (workspace ones as
 * `file:` tarballs, the rest at the declared range).
 */
export function consumerManifest(name: string, tarballs: ReadonlyMap<string, string>, manifests: ReadonlyMap<string, Manifest>): Manifest {
  const manifest = manifests.get(name);
  if (!manifest) throw new Error(`no workspace package '${name}'`);
  const dependencies: Record<string, string> = { [name]: `file:${tarballs.get(name)}` };
  for (const [peer, range] of Object.entries(requiredPeers(manifest))) {
    dependencies[peer] = tarballs.has(peer) ? `file:${tarballs.get(peer)}` : range;
  }
  return { name: 'adapterkit-release-check-consumer', private: true, type: 'module', dependencies };
}

/**
 * The consumer's `.pnpmfile.cjs`: every regular or optional dependency on a workspace package, at any depth, is
 * taken from that package's tarball, so nothing of ours is fetched from the registry. Peer ranges are left as
 * published, so pnpm checks them (strictly) against the versions installed. (`pnpm.overrides` would rewrite the
 * peer ranges too.)
 */
export function consumerPnpmfile(tarballs: ReadonlyMap<string, string>): string {
  return `const TARBALLS = ${JSON.stringify(Object.fromEntries(tarballs))};
module.exports = {
  hooks: {
    readPackage(pkg) {
      for (const field of ['dependencies', 'optionalDependencies']) {
        const deps = pkg[field];
        if (!deps) continue;
        for (const name of Object.keys(deps)) if (TARBALLS[name]) deps[name] = 'file:' + TARBALLS[name];
      }
      return pkg;
    },
  },
};
`;
}

/**
 * `npm publish --dry-run` of a packed tarball: npm reads the tarball's manifest and contents as it would for a
 * real publish, uploads nothing. Returns the problems (empty when it passed).
 */
export function publishDryRun(tarball: string): string[] {
  try {
    execFileSync('npm', ['publish', '--dry-run', '--access', 'public', '--ignore-scripts', tarball], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_loglevel: 'warn' },
    });
    return [];
  } catch (err) {
    return [`npm publish --dry-run failed:\n      ${failure(err)}`];
  }
}

/**
 * Install `name`'s tarball into an empty temporary project with only its declared dependencies, then import it
 * (ESM) — or, for a package that only has a `bin`, run `<bin> --version`. The project is removed afterwards.
 */
export function standaloneInstall(
  name: string,
  tarballs: ReadonlyMap<string, string>,
  manifests: ReadonlyMap<string, Manifest>,
): { problems: string[]; summary: string } {
  const dir = mkdtempSync(join(tmpdir(), 'release-install-'));
  const started = performance.now();
  const opts: ExecFileSyncOptions = { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000 };
  try {
    const consumer = consumerManifest(name, tarballs, manifests);
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(consumer, null, 2)}\n`);
    writeFileSync(join(dir, '.pnpmfile.cjs'), consumerPnpmfile(tarballs));
    try {
      execFileSync(
        'pnpm',
        ['install', '--prefer-offline', '--ignore-workspace', '--config.auto-install-peers=false', '--config.strict-peer-dependencies=true', '--reporter=append-only'],
        opts,
      );
    } catch (err) {
      return { problems: [`standalone install failed:\n      ${failure(err)}`], summary: 'install failed' };
    }
    const manifest = manifests.get(name)!;
    const hasExports = manifest['exports'] !== undefined || manifest['main'] !== undefined;
    const bins = typeof manifest['bin'] === 'string' ? { [name]: manifest['bin'] } : ((manifest['bin'] ?? {}) as Record<string, string>);
    const checked: string[] = [];
    try {
      if (hasExports) {
        const script = `const m = await import(${JSON.stringify(name)}); const n = Object.keys(m).length; if (n === 0) throw new Error('no exports'); console.log(n);`;
        const out = execFileSync('node', ['--input-type=module', '-e', script], opts) as string;
        checked.push(`import() gives ${out.trim()} exports`);
      }
      for (const bin of Object.keys(bins)) {
        const out = execFileSync(join(dir, 'node_modules', '.bin', bin), ['--version'], opts) as string;
        checked.push(`${bin} --version prints ${out.trim()}`);
      }
      if (checked.length === 0) return { problems: ['has neither exports nor a bin to check'], summary: 'nothing to import' };
    } catch (err) {
      return { problems: [`installed, but ${hasExports ? 'import()' : 'its bin'} failed:\n      ${failure(err)}`], summary: 'import failed' };
    }
    const deps = Object.keys(consumer['dependencies'] as object).length - 1;
    return { problems: [], summary: `installed alone (+${deps} peer${deps === 1 ? '' : 's'}), ${checked.join(', ')} (${((performance.now() - started) / 1000).toFixed(1)} s)` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
