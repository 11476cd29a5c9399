import { TieringError } from '../errors/tiering-error.js';
import type { SegmentFilter } from '../metadata/segment-index.js';
import { TIERS } from '../metadata/segment-record.js';

const FILTER_KEYS: ReadonlySet<string> = new Set(['topic', 'partition', 'policy', 'archived', 'after', 'limit'] satisfies Array<keyof SegmentFilter>);

/**
 * `filter` as a `SegmentFilter`, or INVALID_ARGUMENT naming the key: a misspelt key or a value
 * of the wrong kind (`{ policy: 'COLD' }`, `{ partition: '0' }`) would otherwise match nothing,
 * or everything, without a word.
 */
export function checkSegmentFilter(filter: unknown): SegmentFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw invalid(`a segment filter must be an object, got ${describe(filter)}`);
  const { topic, partition, policy, archived, after, limit } = filter as Record<string, unknown>;
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.has(key)) throw invalid(`unknown segment filter key "${key}"; the keys are ${[...FILTER_KEYS].join(', ')}`);
  }
  if (topic !== undefined && typeof topic !== 'string') throw invalid(`filter.topic must be a topic name, got ${describe(topic)}`);
  if (partition !== undefined && !isWhole(partition)) throw invalid(`filter.partition must be a whole number ≥ 0, got ${describe(partition)}`);
  if (policy !== undefined && !(TIERS as readonly unknown[]).includes(policy)) throw invalid(`filter.policy must be one of ${TIERS.join(', ')}, got ${describe(policy)}`);
  if (archived !== undefined && typeof archived !== 'boolean') throw invalid(`filter.archived must be true or false, got ${describe(archived)}`);
  if (after !== undefined && typeof after !== 'string') throw invalid(`filter.after must be a segment path, got ${describe(after)}`);
  if (limit !== undefined && !(isWhole(limit) && limit > 0)) throw invalid(`filter.limit must be a whole number ≥ 1, got ${describe(limit)}`);
  return filter as SegmentFilter;
}

const isWhole = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

const invalid = (message: string) => new TieringError('INVALID_ARGUMENT', message);

/** A value as a message shows it: its kind, and the value itself when short. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (value === null || Array.isArray(value)) return value === null ? 'null' : 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'number' ? '' : `${typeof value} `}${String(value)}`.trim();
}
