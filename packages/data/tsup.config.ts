import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: `index` (Node: adds file streams and the embedded datasets) and `browser` (no `node:` import).
  entry: ['src/index.ts', 'src/browser.ts'],
  // ESM and CommonJS (require); `shims` gives the CommonJS build `import.meta.url`.
  format: ['esm', 'cjs'],
  shims: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
