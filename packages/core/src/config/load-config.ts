import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { BackendProvider } from '../contracts/backend-provider.js';
import { ConfigError } from '../errors/config-error.js';
import { describeValue, flattenConfigTree, isMap, type ConfigLeaf } from './config-tree.js';
import { nearestKey, parseConfigObject } from './config-schema.js';
import { environmentLeaves } from './environment-overrides.js';
import { quoteValue } from './quote-value.js';
import { isLegalTopicName } from '../kafka/partition-dir-name.js';
import type { TakhinConfig, TopicOverride } from './takhin-config.js';
import { BROKER_SECTIONS, BUILT_IN_BACKENDS, CONSOLE_SCHEMA, DATA_SCHEMA, TIERED_SCHEMA, TOPIC_SCHEMA } from './takhin-settings.js';

export interface LoadConfigOptions {
  /** Environment variables; `TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS=24` overrides the file. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Providers whose sections to validate now (their names are recognised as backend sections). */
  providers?: readonly BackendProvider[];
  /** Names of third-party backend sections, recognised without their provider. */
  backends?: readonly string[];
}

const LOADED = Symbol.for('takhin.LoadedConfig');

/**
 * Reads `takhin.yaml` (a path) or a plain object of the same shape into a typed, validated
 * `TakhinConfig` with every default applied. Keys may be dotted (`cold.age.hours: 168`) or
 * nested maps; environment variables override (`TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS=24`).
 * Every error is a `ConfigError` naming the key, the value and what was expected; unknown keys
 * get a suggestion. Relative paths in a file are relative to the file's folder.
 */
export function loadConfig(source: string | Record<string, unknown>, options: LoadConfigOptions = {}): TakhinConfig {
  const fromFile = typeof source === 'string';
  const origin = fromFile ? basename(source) : 'the config object';
  const base = fromFile ? dirname(resolve(source)) : process.cwd();
  const tree = fromFile ? readYaml(source) : source;
  const leaves = flattenConfigTree(tree, origin);
  checkTopLevel(tree);

  const providerNames = (options.providers ?? []).map((p) => p.name);
  const configuredBackend = backendNamed(leaves, options.env);
  const backendNames = new Set<string>([...BUILT_IN_BACKENDS, ...providerNames, ...(options.backends ?? [])]);
  if (configuredBackend !== undefined) backendNames.add(configuredBackend);

  for (const leaf of environmentLeaves(options.env ?? {}, [...backendNames])) {
    for (const path of leaves.keys()) {
      if (path === leaf.path || path.startsWith(`${leaf.path}.`) || leaf.path.startsWith(`${path}.`)) leaves.delete(path);
    }
    leaves.set(leaf.path, leaf);
  }

  const sections = sortLeaves(leaves, backendNames);
  const originOf = (path: string) => leaves.get(path)?.origin;
  const withOrigin = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      throw attachOrigin(error, originOf);
    }
  };

  const data = withOrigin(() => parseConfigObject('storage.data', sections.data, DATA_SCHEMA));
  const tiered = withOrigin(() => parseConfigObject('storage.tiered', sections.tiered, TIERED_SCHEMA));
  const consoleSettings = withOrigin(() => parseConfigObject('console', sections.console, CONSOLE_SCHEMA));
  const topics: Record<string, TopicOverride> = settingsRecord();
  for (const [topic, raw] of Object.entries(sections.topics)) {
    if (!isLegalTopicName(topic)) {
      throw new ConfigError(`storage.tiered.topics.${topic}`, `${quoteValue(topic)} is not a Kafka topic name (ASCII letters, digits, '.', '_' and '-', at most 249 characters), so no segment could ever match it`);
    }
    const parsed = withOrigin(() => parseConfigObject(`storage.tiered.topics.${topic}`, raw, TOPIC_SCHEMA));
    topics[topic] = { enabled: parsed.enabled, coldAgeHours: parsed['cold.age.hours'], warmAgeHours: parsed['warm.age.hours'] };
  }

  // Set, unless absent or null (which parseConfigObject takes as absent, giving the default).
  const coldSet = sections.tiered['cold.age.hours'] !== undefined && sections.tiered['cold.age.hours'] !== null;
  const coldAge = ageOf('storage.tiered', 'cold', tiered['cold.age.hours'], coldSet);
  const warmAge = ageOf('storage.tiered', 'warm', tiered['warm.age.hours'] ?? defaultWarmHours(coldAge.hours), tiered['warm.age.hours'] !== undefined);
  withOrigin(() => checkAges(warmAge, coldAge));
  const { hours: coldAgeHours } = coldAge;
  const { hours: warmAgeHours } = warmAge;
  for (const [topic, override] of Object.entries(topics)) {
    const section = `storage.tiered.topics.${topic}`;
    const cold = override.coldAgeHours === undefined ? { ...coldAge, inherited: true } : ageOf(section, 'cold', override.coldAgeHours, true);
    // Unset keys inherit the global ones; a warm age set nowhere is the default of the topic's cold age.
    const warm =
      override.warmAgeHours !== undefined
        ? ageOf(section, 'warm', override.warmAgeHours, true)
        : warmAge.set
          ? { ...warmAge, inherited: true }
          : ageOf(section, 'warm', defaultWarmHours(cold.hours), false);
    withOrigin(() => checkAges(warm, cold));
    topics[topic] = { ...override, warmAgeHours: warm.hours, coldAgeHours: cold.hours };
  }

  const dataDir = data.dir === undefined ? undefined : pathFrom(base, leaves, 'storage.data.dir', data.dir);
  const backends = sections.backends;
  // The embedded default needs no setting at all: its objects go beside the data dir.
  if (tiered.backend === 'fs' && backends.fs?.root === undefined && dataDir !== undefined) {
    backends.fs = { ...backends.fs, root: join(siblingOf(dataDir), 'cold') };
  } else if (typeof backends.fs?.root === 'string') {
    backends.fs = { ...backends.fs, root: pathFrom(base, leaves, 'storage.tiered.fs.root', backends.fs.root) };
  }
  // Without a data dir the embedded default has no root: name the setting a config normally has,
  // not the root it would have given (unless an `fs` section was written, even an empty one).
  const validatesFs = (options.providers ?? []).some((provider) => provider.name === 'fs');
  if (validatesFs && tiered.backend === 'fs' && dataDir === undefined && backends.fs === undefined && !writesSection(tree, ['storage', 'tiered', 'fs'])) {
    throw fsRootWithoutDataDir();
  }
  for (const provider of options.providers ?? []) {
    if (backends[provider.name] !== undefined || provider.name === tiered.backend) withOrigin(() => provider.parseConfig(backends[provider.name] ?? {}));
  }

  const config: TakhinConfig = {
    storage: {
      data: { dir: dataDir },
      tiered: {
        enabled: tiered.enabled,
        backend: tiered.backend,
        coldAgeHours,
        warmAgeHours,
        archiveIntervalMinutes: tiered['archive.interval.minutes'],
        archiveConcurrency: tiered['archive.concurrency'],
        localCacheSizeMb: tiered['local.cache.size.mb'],
        autoArchiveEnabled: tiered['auto.archive.enabled'],
        cache: {
          dir:
            tiered['cache.dir'] !== undefined
              ? pathFrom(base, leaves, 'storage.tiered.cache.dir', tiered['cache.dir'])
              : dataDir && join(siblingOf(dataDir), 'cache'),
          chunkSizeMb: tiered['cache.chunk.size.mb'],
        },
        metadata: {
          store: tiered['metadata.store'] as 'sqlite' | 'memory',
          path:
            tiered['metadata.path'] !== undefined
              ? pathFrom(base, leaves, 'storage.tiered.metadata.path', tiered['metadata.path'])
              : dataDir && join(dataDir, '.takhin-tiered.db'),
        },
        topics,
        backends,
      },
    },
    console: { listen: consoleSettings.listen, token: consoleSettings.token },
  };
  // Marks the config as loaded, and keeps which settings the environment set, for errors found later.
  const fromEnvironment = new Map([...leaves.values()].filter((leaf) => leaf.origin.startsWith('environment')).map((leaf) => [leaf.path, leaf.origin]));
  Object.defineProperty(config, LOADED, { value: fromEnvironment });
  return deepFreeze(config);
}

/** Whether `value` came from `loadConfig` (and so is validated and complete). */
export function isLoadedConfig(value: unknown): value is TakhinConfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[LOADED] instanceof Map;
}

/**
 * `provider`'s section of a loaded config, parsed by the provider. A bad value that an
 * environment variable set is named with the variable, as `loadConfig`'s own errors are: the
 * file the user reads has no such key.
 */
export function parseBackendSection(config: TakhinConfig, provider: BackendProvider): unknown {
  const fromEnvironment = (config as unknown as Record<symbol, ReadonlyMap<string, string> | undefined>)[LOADED];
  try {
    return provider.parseConfig(config.storage.tiered.backends[provider.name] ?? {});
  } catch (error) {
    throw attachOrigin(error, (path) => fromEnvironment?.get(path));
  }
}

/**
 * The folder beside the data dir that holds what this library keeps outside it: the FS cold
 * store's objects and the chunk cache (`/var/lib/kafka` → `/var/lib/kafka-tiered`).
 */
export function siblingOf(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}-tiered`;
}

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, code === 'ENOENT' ? 'config file does not exist' : `cannot read the config file (${code ?? String(error)})`);
  }
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError(path, `is not valid YAML: ${error.message}`);
    throw error;
  }
}

interface SortedLeaves {
  data: Record<string, unknown>;
  tiered: Record<string, unknown>;
  console: Record<string, unknown>;
  topics: Record<string, Record<string, unknown>>;
  backends: Record<string, Record<string, unknown>>;
}

/** Puts each leaf into the section that validates it; a leaf no section owns is an error. */
function sortLeaves(leaves: Map<string, ConfigLeaf>, backendNames: ReadonlySet<string>): SortedLeaves {
  const sorted: SortedLeaves = { data: settingsRecord(), tiered: settingsRecord(), console: settingsRecord(), topics: settingsRecord(), backends: settingsRecord() };
  for (const { path, value, topic } of leaves.values()) {
    const parts = path.split('.');
    if (BROKER_SECTIONS.some((section) => path === section || path.startsWith(`${section}.`))) continue;
    if (isSection(path, backendNames)) {
      // Written with nothing in it (`tiered:` with its children commented out): an empty section.
      if (value === null) continue;
      throw new ConfigError(path, `expected a map of settings, got ${describeValue(value)}`);
    }
    if (parts[0] === 'console' && parts.length > 1) {
      sorted.console[parts.slice(1).join('.')] = value;
    } else if (parts[0] === 'storage' && parts[1] === 'data' && parts.length > 2) {
      sorted.data[parts.slice(2).join('.')] = value;
    } else if (parts[0] === 'storage' && parts[1] === 'tiered' && parts.length > 2) {
      const rest = path.slice('storage.tiered.'.length);
      if (topic !== undefined) {
        (sorted.topics[topic.name] ??= settingsRecord())[topic.key] = value;
      } else if (backendNames.has(parts[2]!) && parts.length > 3) {
        (sorted.backends[parts[2]!] ??= settingsRecord())[parts.slice(3).join('.')] = value;
      } else {
        if (!Object.hasOwn(TIERED_SCHEMA, rest)) throw unknownTieredKey(path, rest, backendNames);
        sorted.tiered[rest] = value;
      }
    } else {
      throw new ConfigError(path, `unknown key; this library reads "storage.data.dir", "storage.tiered.*" and "console.*"${suggestTop(path)}`);
    }
  }
  return sorted;
}

/**
 * A record keyed by names from the config (topics, backends, keys): without a prototype, so a
 * topic named `constructor` or `__proto__` is a key like any other, neither found before it is
 * set nor setting the prototype of every object in the process.
 */
function settingsRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Whether `path` is a section this library reads (so its value must be a map, or null for empty). */
function isSection(path: string, backendNames: ReadonlySet<string>): boolean {
  if (['storage', 'storage.data', 'storage.tiered', 'storage.tiered.topics', 'console'].includes(path)) return true;
  const parts = path.split('.');
  return parts.length === 3 && parts[0] === 'storage' && parts[1] === 'tiered' && backendNames.has(parts[2]!);
}

/** Catches a misspelt section that holds nothing (`storge: {}`), which no leaf would reveal. */
function checkTopLevel(tree: unknown): void {
  if (typeof tree !== 'object' || tree === null) return;
  const known = new Set(['storage', 'console', ...BROKER_SECTIONS.map((section) => section.split('.')[0]!)]);
  for (const key of Object.keys(tree)) {
    const first = key.split('.')[0]!;
    if (!known.has(first)) throw new ConfigError(key, `unknown key; this library reads "storage.data.dir", "storage.tiered.*" and "console.*"${suggestTop(key)}`);
  }
}

/** Whether `tree` writes the section at `parts`, dotted or nested, even as `{}` or null. */
function writesSection(tree: unknown, parts: readonly string[]): boolean {
  if (parts.length === 0) return true;
  if (!isMap(tree)) return false;
  return Object.entries(tree).some(([key, value]) => {
    const keyParts = key.split('.');
    return keyParts.length <= parts.length && keyParts.every((part, i) => part === parts[i]) && writesSection(value, parts.slice(keyParts.length));
  });
}

function suggestTop(path: string): string {
  const hint = nearestKey(path.split('.')[0]!, ['storage', 'console']);
  return hint && hint !== path.split('.')[0] ? ` (did you mean "${hint}"?)` : '';
}

function unknownTieredKey(path: string, rest: string, backendNames: ReadonlySet<string>): ConfigError {
  const first = rest.split('.')[0]!;
  const backendHint = nearestKey(first, [...backendNames]);
  const hint = backendHint !== undefined && rest.includes('.') ? `${backendHint}.${rest.slice(first.length + 1)}` : nearestKey(rest, Object.keys(TIERED_SCHEMA));
  const known = [...Object.keys(TIERED_SCHEMA), 'topics.<topic>.*', ...[...backendNames].map((name) => `${name}.*`)];
  return new ConfigError(path, `unknown key${hint ? ` (did you mean "storage.tiered.${hint}"?)` : ''}; known keys: ${known.join(', ')}`);
}

function backendNamed(leaves: Map<string, ConfigLeaf>, env: LoadConfigOptions['env']): string | undefined {
  const value = env?.TAKHIN_STORAGE_TIERED_BACKEND ?? leaves.get('storage.tiered.backend')?.value;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * `warm.age.hours` when not set: the seed's 72, or half of `cold.age.hours` when that is 72 or
 * less, so lowering only the cold age (`TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS=24`) stays valid.
 */
function defaultWarmHours(coldAgeHours: number): number {
  return coldAgeHours > 72 ? 72 : coldAgeHours / 2;
}

/** An age as used for a section: its hours, the key they come from, and whether anyone set it. */
interface Age {
  readonly hours: number;
  /** The section's own key, or (`inherited`) the global one a topic takes its value from. */
  readonly key: string;
  /** Set in the config or the environment, rather than defaulted. */
  readonly set: boolean;
  readonly inherited?: boolean;
}

function ageOf(section: string, age: 'warm' | 'cold', hours: number, set: boolean): Age {
  return { hours, key: `${section}.${age}.age.hours`, set };
}

function describeAge(age: Age): string {
  const unset = age.key.endsWith('warm.age.hours') ? ', not set: half the cold age, at most 72' : ', not set: the default';
  return `${age.key} (${age.hours}${age.set ? '' : unset})${age.inherited ? ', which the topic inherits' : ''}`;
}

/**
 * A segment turns warm before it turns cold. The error names the key the user set in this
 * section, the warm age if both, and says of the other whether it is defaulted or inherited.
 */
function checkAges(warm: Age, cold: Age): void {
  if (warm.hours < cold.hours) return;
  const reason = 'a segment turns warm before it turns cold';
  const warmSetHere = warm.set && !warm.inherited;
  if (!warmSetHere && cold.set && !cold.inherited) throw new ConfigError(cold.key, `must be more than ${describeAge(warm)}, got ${cold.hours}: ${reason}`);
  throw new ConfigError(warm.key, `must be less than ${describeAge(cold)}, got ${warm.hours}: ${reason}`);
}

function pathFrom(base: string, leaves: Map<string, ConfigLeaf>, key: string, value: string): string {
  const leaf = leaves.get(key);
  if (value.includes('\0')) throw new ConfigError(key, `must not contain a NUL character, got ${quoteValue(value)}`);
  // Values from the environment are relative to the working directory, like any shell path.
  const from = leaf?.origin.startsWith('environment') ? process.cwd() : base;
  return isAbsolute(value) ? resolve(value) : resolve(from, value);
}

/** Re-throws a `ConfigError` with the environment variable that set the value, if one did. */
function attachOrigin(error: unknown, originOf: (path: string) => string | undefined): unknown {
  if (!(error instanceof ConfigError)) return error;
  const origin = originOf(error.path);
  if (origin === undefined || !origin.startsWith('environment')) return error;
  const reason = error.message.replace(/^invalid configuration "[^"]*": /, '');
  return new ConfigError(error.path, `${reason} (set by ${origin})`);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The embedded default (the FS backend, no root of its own) given no data dir to place it beside. */
export const fsRootWithoutDataDir = () => new ConfigError('storage.data.dir', "is required to place the FS backend's objects beside it (or set storage.tiered.fs.root)");
