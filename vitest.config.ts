import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', '*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'web/**/e2e/**'],
    // Records suites skipped for a missing system tool and lists them when the run ends.
    globalSetup: ['runtime/src/testing/skip-report.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: heavy numeric tests must not fight each other.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
