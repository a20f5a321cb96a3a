import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL_DIR = join(ROOT, 'packages', 'bert-mini', 'model');
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];
const WASM_DIR = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
const WASM_FILES = readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm'));

/** Serves (dev) and copies (build) the embedded model under `model/` and the tfjs wasm binaries under `wasm/`. */
function staticFiles(): Plugin {
  const files = new Map<string, string>([...MODEL_FILES.map((f) => [`model/${f}`, join(MODEL_DIR, f)] as const), ...WASM_FILES.map((f) => [`wasm/${f}`, join(WASM_DIR, f)] as const)]);
  return {
    name: 'adapterkit-static-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = files.get((req.url ?? '').replace(/^\//, '').split('?')[0]!);
        if (!path) return next();
        res.setHeader('Content-Type', path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream');
        createReadStream(path).pipe(res);
      });
    },
    generateBundle() {
      for (const [fileName, path] of files) this.emitFile({ type: 'asset', fileName, source: readFileSync(path) });
    },
  };
}

/** Cross-origin isolation, so the wasm backend may use threads (SharedArrayBuffer) in `dev` and `preview`. */
const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  server: { headers: ISOLATED },
  preview: { headers: ISOLATED },
  // The workspace packages resolve to their TypeScript sources (and to their browser entries).
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: { index: join(import.meta.dirname, 'index.html'), parity: join(import.meta.dirname, 'parity.html') } },
  },
  plugins: [staticFiles()],
});
