import { ConfigError } from '../errors/config-error.js';
import { quoteValue } from './quote-value.js';

/** One setting as written: its full dotted path, its value, and where it was written. */
export interface ConfigLeaf {
  readonly path: string;
  readonly value: unknown;
  /** `takhin.yaml`, `the config object`, or `environment variable TAKHIN_…`. */
  readonly origin: string;
  /** Below `storage.tiered.topics`: the topic, and the per-topic key within it. */
  readonly topic?: { readonly name: string; readonly key: string };
}

/**
 * Flattens a config tree into leaves keyed by full dotted path. The seed writes keys both ways
 * (`cold.age.hours: 168` and `cold: { age: { hours: 168 } }`), so every key is split on `.` and
 * joined to its parents' path; both spellings of one setting land on the same path, and writing
 * one setting twice is an error rather than a silent choice. Below `storage.tiered.topics` the
 * keys are topic names (which may contain `.`), so they are taken whole.
 */
export function flattenConfigTree(tree: unknown, origin: string): Map<string, ConfigLeaf> {
  const leaves = new Map<string, ConfigLeaf>();
  if (tree === null || tree === undefined) return leaves;
  if (!isMap(tree)) throw new ConfigError('(root)', `expected a map of settings in ${origin}, got ${describeValue(tree)}`);
  walk(tree, [], false, undefined);
  return leaves;

  function walk(node: Record<string, unknown>, parents: readonly string[], keysAreTopics: boolean, topic: string | undefined): void {
    for (const [key, value] of Object.entries(node)) {
      const parts = keysAreTopics ? [key] : key.split('.');
      const where = [...parents, ...parts].join('.');
      if (parts.some((part) => part === '')) throw new ConfigError(where, `has an empty key segment in ${origin}`);
      const path = [...parents, ...parts];
      const topicsNext = !keysAreTopics && path.join('.') === 'storage.tiered.topics';
      if (topic === undefined && !keysAreTopics && path.length > 3 && path.slice(0, 3).join('.') === 'storage.tiered.topics') {
        throw new ConfigError(where, `per-topic settings are a map under "storage.tiered.topics" keyed by topic name (topic names may contain "."), in ${origin}`);
      }
      const inTopic = keysAreTopics ? key : topic;
      if (isMap(value)) {
        walk(value, path, topicsNext, inTopic);
        continue;
      }
      // A topic written with its settings commented out: no settings, like `{}`.
      if (keysAreTopics && value === null) continue;
      const full = path.join('.');
      for (const [existing] of leaves) {
        if (existing === full) throw new ConfigError(full, `is set twice in ${origin} (once dotted, once nested?)`);
        if (existing.startsWith(`${full}.`) || full.startsWith(`${existing}.`)) {
          throw new ConfigError(full, `conflicts with "${existing}" in ${origin}: one is a value, the other a section`);
        }
      }
      if (keysAreTopics) throw new ConfigError(full, `expected a map of per-topic settings, got ${describeValue(value)} in ${origin}`);
      const topicKey = inTopic === undefined ? undefined : { name: inTopic, key: path.slice(4).join('.') };
      leaves.set(full, topicKey ? { path: full, value, origin, topic: topicKey } : { path: full, value, origin });
    }
  }
}

/**
 * Whether `value` is a map of settings: a plain object. YAML's other collections (`!!set`,
 * `!!omap`, `!!binary`, `!!timestamp`) parse to a Set, a Map, a Uint8Array or a Date, whose
 * entries are no own keys: walked as maps they set nothing, and what the user wrote vanished.
 */
export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isYamlValue(value);
}

/** A value YAML gives as an object that is not a map of settings. */
function isYamlValue(value: object): boolean {
  return value instanceof Date || value instanceof Map || value instanceof Set || ArrayBuffer.isView(value);
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return isMap(value) ? 'a map' : `a ${value.constructor?.name ?? 'object'}`;
  return `${typeof value} ${String(value)}`;
}
