import { TieringError } from '../errors/tiering-error.js';
import type { SegmentFilter } from '../metadata/segment-index.js';
import { describeArgument } from '../reads/read-arguments.js';
import { TIERS } from '../metadata/segment-record.js';

const FILTER_KEYS: ReadonlySet<string> = new Set(['topic', 'partition', 'policy', 'archived', 'after', 'limit'] satisfies Array<keyof SegmentFilter>);

/**
 * `filter` as a `SegmentFilter`, or INVALID_ARGUMENT naming the key: a misspelt key or a value
 * of the wrong kind (`{ policy: 'COLD' }`, `{ partition: '0' }`) would otherwise match nothing,
 * or everything, without a word.
 */
export function checkSegmentFilter(filter: unknown): SegmentFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw invalid(`a segment filter must be an object, got ${describeArgument(filter)}`);
  const { topic, partition, policy, archived, after, limit } = filter as Record<string, unknown>;
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.has(key)) throw invalid(`unknown segment filter key "${key}"; the keys are ${[...FILTER_KEYS].join(', ')}`);
  }
  if (topic !== undefined && typeof topic !== 'string') throw invalid(`filter.topic must be a topic name, got ${describeArgument(topic)}`);
  if (partition !== undefined && !isWhole(partition)) throw invalid(`filter.partition must be a whole number ≥ 0, got ${describeArgument(partition)}`);
  if (policy !== undefined && !(TIERS as readonly unknown[]).includes(policy)) throw invalid(`filter.policy must be one of ${TIERS.join(', ')}, got ${describeArgument(policy)}`);
  if (archived !== undefined && typeof archived !== 'boolean') throw invalid(`filter.archived must be true or false, got ${describeArgument(archived)}`);
  if (after !== undefined && typeof after !== 'string') throw invalid(`filter.after must be a segment path, got ${describeArgument(after)}`);
  if (limit !== undefined && !(isWhole(limit) && limit > 0)) throw invalid(`filter.limit must be a whole number ≥ 1, got ${describeArgument(limit)}`);
  return filter as SegmentFilter;
}

const isWhole = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

const invalid = (message: string) => new TieringError('INVALID_ARGUMENT', message);
