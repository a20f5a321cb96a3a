import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: `index` (Node: adds file streams and the embedded datasets) and `browser` (no `node:` import).
  entry: ['src/index.ts', 'src/browser.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
