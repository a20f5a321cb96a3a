import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  // The entry is built to dist/lib/ and the model folder copied to dist/model/, so `new URL('../model/',
  // import.meta.url)` finds the files from the sources (src/ → model/, in the repository) and from the build alike.
  entry: { 'lib/index': 'src/index.ts' },
  // ESM and CommonJS (require); `shims` gives the CommonJS build `import.meta.url`.
  format: ['esm', 'cjs'],
  shims: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  onSuccess: async () => {
    cpSync('model', 'dist/model', { recursive: true });
  },
});
