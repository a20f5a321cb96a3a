import { defineConfig } from 'tsup';

// `worker.ts` is an entry of its own: the pool starts `dist/worker.js` in each worker thread.
export default defineConfig({
  entry: ['src/index.ts', 'src/worker.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
