import { defineConfig } from 'tsup';

// `worker.ts` is an entry of its own: the pool starts `dist/worker.js` (ESM) in each worker thread, from the ESM and
// the CommonJS build alike (`shims` gives the CommonJS build `import.meta.url`).
export default defineConfig({
  entry: ['src/index.ts', 'src/worker.ts'],
  format: ['esm', 'cjs'],
  shims: true,
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
