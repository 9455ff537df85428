import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', '*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'web/**/e2e/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: heavy numeric tests must not fight each other.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
