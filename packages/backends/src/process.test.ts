import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve('tsx')).href;
const INDEX = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;

/** A user script: pick a backend, compute, then an error nobody catches. */
function runUserScript(backend: 'wasm' | 'cpu'): { code: number | null; stderr: string; stdout: string } {
  const script = [
    "import * as tf from '@tensorflow/tfjs-core';",
    `import { initBackend } from '${INDEX}';`,
    `await initBackend('${backend}', { threads: 1 });`,
    "console.log('sum', tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]);",
    "setTimeout(() => { throw new Error('boom from the user script'); }, 0);",
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', TSX, '--conditions=source', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('a process that uses initBackend', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: prints no tfjs Node.js banner, and an uncaught error is Node's message and stack with exit code 1 (no tfjs source dump, no exit code 7)`, () => {
      const r = runUserScript(backend);
      expect(r.stdout).toContain('sum 6');
      expect(r.code, r.stderr.slice(0, 2000)).toBe(1);
      expect(r.stderr).toContain('Error: boom from the user script');
      expect(r.stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
      // the rethrowing Emscripten listener printed a 39 KB line of minified tfjs-backend-wasm source
      expect(r.stderr.length).toBeLessThan(4000);
      expect(Math.max(...r.stderr.split('\n').map((l) => l.length))).toBeLessThan(500);
    });
  }
});
