/**
 * `@takhin/testkit/standalone`: the part of the testkit that runs outside a test runner, for
 * the bench and the demo. `@takhin/testkit` itself loads vitest and every contract suite (about
 * 10 MiB of heap); a process that only generates segments and log dirs, or reads the services'
 * endpoints, carries none of it (docs/ARCHITECTURE.md, "Packages and who imports whom").
 */
export * from './segments/broker-log-dir.js';
export * from './segments/segment-generator.js';
export * from './services/service-env.js';
