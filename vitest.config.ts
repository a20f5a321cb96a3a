import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `source` export condition, so tests and
// type checks need no prior build.
const conditions = ['source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The CLI (in-process and spawned) runs wasm on one thread in tests: several test forks starting threaded wasm at
    // once sometimes stall a worker start (packages/backends/README.md); the thread tests name their threads.
    env: { ADAPTERKIT_THREADS: '1' },
    // tfjs's PROD flag: no "running TensorFlow.js in Node.js" banner in every test process
    setupFiles: ['./scripts/vitest-setup.ts'],
    typecheck: { enabled: true, tsconfig: './tsconfig.json', include: ['packages/*/src/**/*.test-d.ts', 'examples/*/src/**/*.test-d.ts'] },
  },
});
