/**
 * The library packages bundle for the browser: each entry is built with esbuild (`platform: 'browser'`, the
 * workspace's `source` condition, every dependency bundled) and the test fails on any import of a Node builtin
 * (`node:*`, or a bare `fs`, `path`, ...) by our code, naming the module that imports it, and on any builtin a
 * dependency imports without mapping it away for browsers (esbuild cannot resolve it there).
 */
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** The packages that run in browsers (`native` is a Node addon; `testkit` is a Node test harness). */
export const BROWSER_PACKAGES = [
  'core',
  'models',
  'bottleneck',
  'compacter',
  'invertible',
  'lora',
  'prefix-tuning',
  'prompt-tuning',
  'reft',
  'union',
  'training',
  'torch-format',
  'data',
  'generate',
  'backends',
] as const;

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every import of a Node builtin (with its importer) and keeps it out of the bundle. */
function builtinSpy(found: string[]): Plugin {
  return {
    name: 'node-builtin-spy',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        // Dependencies keep their own browser mappings (tfjs's `browser` field maps its Node-only modules away); an
        // unmapped builtin there makes esbuild fail to resolve it, which fails the build and the test too.
        if (args.importer.includes('/node_modules/')) return undefined;
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) {
          found.push(`${args.path} imported by ${args.importer.replace(`${ROOT}/`, '')}`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/** Bundles `@adapterkit/<pkg>` for the browser; returns the Node builtins it imports and the bundle's size. */
export async function bundleForBrowser(pkg: string): Promise<{ builtins: string[]; bytes: Uint8Array }> {
  const found: string[] = [];
  const res = await build({
    stdin: { contents: `export * from '@adapterkit/${pkg}';`, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    minify: true,
    write: false,
    logLevel: 'silent',
    plugins: [builtinSpy(found)],
  });
  return { builtins: [...new Set(found)], bytes: res.outputFiles[0]!.contents };
}

/** The packages the playground imports: their browser bundle, tfjs and the tokenizer library left external, is "the library part". */
export const LIBRARY_PART = ['core', 'models', 'bottleneck', 'lora', 'training', 'data', 'torch-format', 'backends'] as const;

/** One minified browser bundle of {@link LIBRARY_PART} (each as a namespace, so nothing is tree-shaken away). */
export async function libraryPartBundle(): Promise<{ builtins: string[]; bytes: Uint8Array; gzipBytes: number }> {
  const found: string[] = [];
  const contents = LIBRARY_PART.map((p, i) => `import * as m${i} from '@adapterkit/${p}';`).join('\n') + `\nexport { ${LIBRARY_PART.map((_, i) => `m${i}`).join(', ')} };`;
  const res = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    external: ['@tensorflow/*', '@huggingface/tokenizers'],
    minify: true,
    write: false,
    logLevel: 'silent',
    plugins: [builtinSpy(found)],
  });
  const bytes = res.outputFiles[0]!.contents;
  return { builtins: [...new Set(found)], bytes, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

describe('browser bundles', () => {
  for (const pkg of BROWSER_PACKAGES) {
    it(`@adapterkit/${pkg} bundles for the browser without Node builtins`, async () => {
      const { builtins, bytes } = await bundleForBrowser(pkg);
      expect(builtins, `@adapterkit/${pkg} pulls Node builtins into a browser bundle`).toEqual([]);
      expect(bytes.length).toBeGreaterThan(0);
    });
  }

  it('the library part of a browser app: size (gzip) of core, models, bottleneck, lora, training, data, torch-format, backends', async () => {
    const { builtins, bytes, gzipBytes } = await libraryPartBundle();
    expect(builtins).toEqual([]);
    // the figure is the library part only: tfjs and the tokenizer library stay imports of the bundle
    const text = new TextDecoder().decode(bytes);
    expect(text).toMatch(/from\s*"@tensorflow\/tfjs-core"/);
    expect(text).toMatch(/from\s*"@huggingface\/tokenizers"/);
    console.log(`[bundle] library part (${LIBRARY_PART.join(', ')}): ${(bytes.length / 1024).toFixed(0)} KiB minified, ${(gzipBytes / 1024).toFixed(0)} KiB gzip (tfjs and @huggingface/tokenizers external)`);
  });

  it('the spy catches a node: import (the check can fail)', async () => {
    const found: string[] = [];
    await build({
      stdin: { contents: `import { readFile } from 'node:fs/promises'; import p from 'path'; console.log(readFile, p);`, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      plugins: [builtinSpy(found)],
    });
    expect(found).toEqual(['node:fs/promises imported by <stdin>', 'path imported by <stdin>']);
  });
});
