import { defineConfig } from 'vitest/config';

// Tests import the packages' built `dist` (npm test builds first), the same code users and
// TransferPool workers load.
export default defineConfig({
  // Test files are outside the packages' tsconfig (which covers src), so say here what the
  // project's tsconfig says: legacy decorators with metadata, as tsyringe needs.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
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
