import type { ConfigSchema } from './config-schema.js';

/** Backends this repository ships; their sections are recognised without being told. */
export const BUILT_IN_BACKENDS = ['fs', 's3', 'minio', 'gcs', 'azure'] as const;

/** The longest delay a Node timer takes, 2^31−1 ms (24.8 days): a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `storage.tiered.*` settings, by their dotted names as the seed writes them. */
export const TIERED_SCHEMA = {
  enabled: { type: 'boolean', default: false },
  backend: { type: 'string', default: 'fs', nonEmpty: true },
  'cold.age.hours': { type: 'number', default: 168, min: 0 },
  // Defaulted in loadConfig: 72, or half the cold age when that is 72 or less.
  'warm.age.hours': { type: 'number', min: 0 },
  // The background archiver's setInterval, so at most MAX_TIMER_MS (35791 minutes).
  'archive.interval.minutes': { type: 'number', default: 60, min: 0.001, max: Math.floor(MAX_TIMER_MS / 60_000) },
  'archive.concurrency': { type: 'number', default: 2, min: 1, max: 64, integer: true },
  'local.cache.size.mb': { type: 'number', default: 10240, min: 0 },
  'auto.archive.enabled': { type: 'boolean', default: true },
  'cache.dir': { type: 'string', nonEmpty: true },
  'cache.chunk.size.mb': { type: 'number', default: 4, min: 0.0625, max: 256 },
  'metadata.store': { type: 'string', default: 'sqlite', oneOf: ['sqlite', 'memory'] },
  'metadata.path': { type: 'string', nonEmpty: true },
} as const satisfies ConfigSchema;

/** `storage.tiered.topics.<topic>.*`. */
export const TOPIC_SCHEMA = {
  enabled: { type: 'boolean' },
  'cold.age.hours': { type: 'number', min: 0 },
  'warm.age.hours': { type: 'number', min: 0 },
} as const satisfies ConfigSchema;

export const DATA_SCHEMA = {
  dir: { type: 'string', nonEmpty: true },
} as const satisfies ConfigSchema;

export const CONSOLE_SCHEMA = {
  listen: { type: 'string', default: '127.0.0.1:8080', nonEmpty: true },
  token: { type: 'string', nonEmpty: true },
} as const satisfies ConfigSchema;

/**
 * Sections of the seed's `takhin.yaml` that belong to the broker, not to this library: a full
 * broker config loads without complaint, while a typo inside the sections this library owns
 * (`storage.data`, `storage.tiered`, `console`) is still an error.
 */
export const BROKER_SECTIONS = [
  'server',
  'kafka',
  'replication',
  'raft',
  'logging',
  'metrics',
  'acl',
  'throttle',
  'storage.log',
  'storage.cleaner',
  'storage.compaction',
  'storage.encryption',
] as const;
