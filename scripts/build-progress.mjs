#!/usr/bin/env node
/**
 * `pnpm start`, first half: build the CLI and the packages it needs (`turbo run build --filter=adapterkit...`) with a
 * line per package as it starts, and the elapsed time, instead of minutes of silence. Turbo's own logs are kept
 * and printed only when a build fails. Plain JavaScript: it runs before anything is built.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository's turbo (on PATH under pnpm; found directly when this file is run with node). */
const local = fileURLToPath(new URL('../node_modules/.bin/turbo', import.meta.url));
const TURBO = existsSync(local) ? local : 'turbo';

const FILTER = '--filter=adapterkit...';
const t0 = performance.now();
const elapsed = () => {
  const s = Math.round((performance.now() - t0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The build tasks turbo will run (a dry run), for the k/N counter; undefined if it cannot say. */
function countTasks() {
  const r = spawnSync(TURBO, ['run', 'build', FILTER, '--dry=json'], { encoding: 'utf8', shell: process.platform === 'win32' });
  try {
    return JSON.parse(r.stdout).tasks.length;
  } catch {
    return undefined;
  }
}

const total = countTasks();
console.log(`pnpm start: building the adapterkit CLI and the packages it needs (${total ?? 'all'} builds; turbo skips cached ones)…`);
const child = spawn(TURBO, ['run', 'build', FILTER, '--output-logs=full'], {
  env: { ...process.env, FORCE_COLOR: '0' },
  stdio: ['ignore', 'pipe', 'pipe'],
  shell: process.platform === 'win32',
});
const log = [];
let started = 0;
for (const stream of [child.stdout, child.stderr]) {
  createInterface({ input: stream }).on('line', (line) => {
    log.push(line);
    const m = /^(\S+):build: cache (miss|hit|bypass)/.exec(line);
    if (m) {
      started += 1;
      console.log(`  [${started}${total ? `/${total}` : ''}] ${elapsed()}  ${m[1]}${m[2] === 'hit' ? ' (cached)' : ''}`);
    }
  });
}
child.on('error', (err) => {
  console.error(`pnpm start: cannot run turbo: ${err.message} (run pnpm install first)`);
  process.exit(1);
});
child.on('close', (code) => {
  if (code !== 0) {
    console.error(log.join('\n'));
    console.error(`pnpm start: the build failed after ${elapsed()} (turbo exit code ${code}); its output is above`);
    process.exit(code ?? 1);
  }
  console.log(`pnpm start: built in ${elapsed()}; starting the main job`);
});
