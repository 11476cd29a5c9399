import { ConfigError } from '../errors/config-error.js';
import { nearestKey } from './config-schema.js';
import type { ConfigLeaf } from './config-tree.js';
import { CONSOLE_SCHEMA, DATA_SCHEMA, TIERED_SCHEMA } from './takhin-settings.js';

/** Variables under these prefixes belong to this library; a misspelt one is an error. */
const OWNED_PREFIXES = ['TAKHIN_STORAGE_DATA_', 'TAKHIN_STORAGE_TIERED_', 'TAKHIN_CONSOLE_'];

/** `storage.tiered.cold.age.hours` → `TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS`. */
export function environmentName(path: string): string {
  return `TAKHIN_${path
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_'))
    .join('_')
    .toUpperCase()}`;
}

const SETTING_PATHS = [
  ...Object.keys(DATA_SCHEMA).map((key) => `storage.data.${key}`),
  ...Object.keys(TIERED_SCHEMA).map((key) => `storage.tiered.${key}`),
  ...Object.keys(CONSOLE_SCHEMA).map((key) => `console.${key}`),
];
const PATH_BY_NAME = new Map(SETTING_PATHS.map((path) => [environmentName(path), path]));

/**
 * The config leaves set by `TAKHIN_*` variables. Library settings map by name
 * (`TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS`); a backend's keys are camelCase, so
 * `TAKHIN_STORAGE_TIERED_S3_PART_SIZE_MB` sets `storage.tiered.s3.partSizeMb`. Per-topic settings
 * cannot be named this way (topic names hold `.` and `-`) and are refused with the reason.
 */
export function environmentLeaves(env: Readonly<Record<string, string | undefined>>, backendNames: readonly string[]): ConfigLeaf[] {
  const leaves: ConfigLeaf[] = [];
  const backendsByPrefix = backendNames
    .map((name) => ({ name, prefix: `${environmentName(`storage.tiered.${name}`)}_` }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !OWNED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const origin = `environment variable ${name}`;
    const setting = PATH_BY_NAME.get(name);
    if (setting !== undefined) {
      leaves.push({ path: setting, value, origin });
      continue;
    }
    if (name.startsWith('TAKHIN_STORAGE_TIERED_TOPICS_')) {
      throw new ConfigError(name, 'per-topic settings cannot be set from the environment (topic names may hold "." and "-"); set them under storage.tiered.topics in the config file');
    }
    const backend = backendsByPrefix.find(({ prefix }) => name.startsWith(prefix) && name.length > prefix.length);
    if (backend !== undefined) {
      leaves.push({ path: `storage.tiered.${backend.name}.${camelCase(name.slice(backend.prefix.length))}`, value, origin });
      continue;
    }
    const hint = nearestKey(name, [...PATH_BY_NAME.keys()]);
    throw new ConfigError(name, `unknown environment variable${hint ? ` (did you mean ${hint}?)` : ''}; it would set nothing`);
  }
  return leaves;
}

/** `PART_SIZE_MB` → `partSizeMb`. */
function camelCase(snake: string): string {
  return snake.toLowerCase().replace(/_+([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}
