import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const run = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('pnpm parity', () => {
  it('--help prints the usage and runs nothing', () => {
    const r = run(['--import', TSX, '--conditions=source', 'scripts/parity.ts', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pnpm parity \[--golden DIR\] \[--cases GLOB\[,GLOB\]\]/);
    expect(r.stdout).not.toMatch(/^(PASS|FAIL|SKIP) |^golden: /m);
  });

  it('an unknown option is an error (exit code 2), not a run of the whole suite', () => {
    const r = run(['--import', TSX, '--conditions=source', 'scripts/parity.ts', '--case', 'bert/base']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^parity: Unknown option '--case'.* \(see 'pnpm parity --help'\)/);
    expect(r.stdout).not.toMatch(/^(PASS|FAIL|SKIP) |^golden: /m);
  });
});

describe('pnpm adapterkit', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'adapterkit-launcher-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('before a build says to run pnpm build first (no MODULE_NOT_FOUND)', () => {
    mkdirSync(join(tmp, 'scripts'));
    copyFileSync(join(ROOT, 'scripts', 'adapterkit.mjs'), join(tmp, 'scripts', 'adapterkit.mjs'));
    const r = run([join(tmp, 'scripts', 'adapterkit.mjs'), '--help']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^adapterkit: error: the CLI is not built yet \(apps\/cli\/dist\/cli\.js is missing\): run pnpm build first/);
    expect(r.stderr).not.toContain('MODULE_NOT_FOUND');
  });

  it('after a build runs the CLI with the arguments', () => {
    mkdirSync(join(tmp, 'apps', 'cli', 'dist'), { recursive: true });
    writeFileSync(join(tmp, 'apps', 'cli', 'dist', 'cli.js'), "console.log('cli got', JSON.stringify(process.argv.slice(2)));\n");
    const r = run([join(tmp, 'scripts', 'adapterkit.mjs'), 'train', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('cli got ["train","--help"]\n');
  });
});
