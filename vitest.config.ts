import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    typecheck: { enabled: true, tsconfig: './tsconfig.json', include: ['packages/*/src/**/*.test-d.ts', 'examples/*/src/**/*.test-d.ts'] },
  },
});
