import { defineConfig } from 'tsup';

export default defineConfig({
  // Node-only set-up is picked at import time by package.json `imports` (`#platform`): both variants are built as
  // entries of their own and `#platform` stays an import, so a browser bundle gets the one without `node:`.
  entry: { index: 'src/index.ts', 'platform.node': 'src/platform.node.ts', 'platform.browser': 'src/platform.browser.ts' },
  external: ['#platform'],
  // ESM and CommonJS (require); `shims` gives the CommonJS build `import.meta.url`.
  format: ['esm', 'cjs'],
  shims: true,
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
});
