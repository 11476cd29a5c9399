import { defineConfig } from 'vitest/config';

// Tests import the packages' built `dist` (npm test builds first), the same code users and
// TransferPool workers load.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    // The contract suite's memory-bound check samples live memory after a forced GC.
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Suites share two cores with the servers they talk to.
    maxWorkers: 2,
  },
});
