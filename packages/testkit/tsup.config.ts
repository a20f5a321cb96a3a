import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    // ESM only: the conformance suite imports vitest with top-level await (no CommonJS build possible).
    format: ['esm'],
    dts: true,
    clean: false,
    sourcemap: true,
    target: 'node20',
  },
  {
    // `require('@adapterkit/testkit')` loads this one-line AdapterKitError `ESM_ONLY` instead.
    entry: { 'esm-only': 'src/esm-only.ts' },
    format: ['cjs'],
    dts: true, // esm-only.d.cts: an empty module, so TypeScript resolves `require` and the message explains at run time
    clean: false,
    sourcemap: false,
    target: 'node20',
  },
]);
