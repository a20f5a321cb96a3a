/**
 * Helpers of the browser tests: where Chromium is and how it is launched, building the playground, and a static
 * file server on 127.0.0.1 (cross-origin isolated, so wasm threads are allowed).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** Debian's Chromium (Playwright's own browser download is never used). */
export const CHROMIUM = process.env['ADAPTERKIT_CHROMIUM'] ?? '/usr/bin/chromium';
/**
 * Flags for headless Chromium in containers and CI. WebGPU is opt-in behind `--enable-unsafe-webgpu`; with it,
 * headless Debian Chromium 156 gives a secure page (127.0.0.1 counts) SwiftShader's fallback adapter
 * (`google swiftshader`, `isFallbackAdapter`) without further flags: `--use-angle=swiftshader`,
 * `--enable-features=Vulkan --use-vulkan=swiftshader --disable-vulkan-surface` and `--use-webgpu-adapter=swiftshader`
 * were tried and change nothing here. `about:blank` is not a secure context and has no `navigator.gpu`.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `dir` on 127.0.0.1 (a free port), with COOP/COEP headers, and each of `mounts` (URL prefix → folder, e.g.
 * `golden` → `fixtures/golden`). Paths outside those folders get 404.
 */
export function serveStatic(dir: string, mounts: Record<string, string> = {}): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const mount = Object.keys(mounts).find((m) => url.startsWith(`/${m}/`));
    const base = mount ? mounts[mount]! : dir;
    const path = normalize(join(base, mount ? url.slice(mount.length + 1) : url));
    if (!path.startsWith(base) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/**
 * Builds `apps/playground` with Vite into `out/browser/dist-<tag>` (one folder per test file, so test files running
 * in parallel never write the same folder); returns that folder.
 */
export async function buildPlayground(tag: string): Promise<string> {
  const { build } = await import('vite');
  const root = join(ROOT, 'apps', 'playground');
  const outDir = join(ROOT, 'out', 'browser', `dist-${tag}`);
  await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}
