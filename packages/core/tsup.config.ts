import { defineConfig } from 'tsup';

export default defineConfig({
  // The host file system is picked at import time by package.json `imports` (`#host-fs`): both variants are built
  // as entries of their own and `#host-fs` stays an import, so a browser bundle gets the one without `node:`.
  entry: { index: 'src/index.ts', 'host-fs.node': 'src/io/host-fs.node.ts', 'host-fs.browser': 'src/io/host-fs.browser.ts' },
  external: ['#host-fs'],
  // ESM and CommonJS (require); `shims` gives the CommonJS build `import.meta.url`.
  format: ['esm', 'cjs'],
  shims: true,
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
