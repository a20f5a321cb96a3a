import { defineConfig } from 'tsup';

// `replica` is an entry of its own: `adapterkit train --workers N` names `dist/replica.js` as the module each
// data-parallel worker imports to rebuild the model (src/runtime/workers.ts), so it must exist as a file.
export default defineConfig({
  entry: { cli: 'src/cli.ts', replica: 'src/runtime/replica.ts' },
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
