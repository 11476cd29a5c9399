import type { SegmentFiles, SegmentRecord, SegmentState, Tier } from './segment-record.js';

/**
 * The `segments` table's columns a record is read from, text first, then integers. Reopening a
 * million records is mostly allocating what rows return, so a row returns little: sizes and
 * times as integers, tier and state as small codes, the `.log`'s checksums only (every file's
 * are in the segment's manifest), and nothing that follows from the path (the topic, the object
 * key).
 */
export const TEXT_COLUMNS = ['path', 'log_crc32c', 'log_sha256', 'topic_id'] as const;
export const INTEGER_COLUMNS = [
  'partition',
  'base_offset',
  'log_size',
  'index_size',
  'timeindex_size',
  'txnindex_size',
  'last_modified',
  'last_access_at',
  'policy',
  'is_archived',
  'archived_at',
  'state',
  'version',
] as const;
export const COLUMNS = [...TEXT_COLUMNS, ...INTEGER_COLUMNS];

export const TIER_CODES: readonly Tier[] = ['hot', 'warm', 'cold'];
export const STATE_CODES: readonly SegmentState[] = ['idle', 'archiving', 'restoring'];

/** A row as `node:sqlite` returns it with `setReturnArrays(true)`, in `COLUMNS` order. */
export type Row = (string | number | null)[];

/**
 * Rows packed for a trip between threads: the text columns in one array, the integers in one
 * `Float64Array` (NaN for NULL), which is moved rather than copied. A page of 10^4 rows is then
 * 4·10^4 strings to clone and one buffer, where the rows themselves would be 10^4 arrays of 17.
 */
export interface PackedRows {
  readonly count: number;
  /** `TEXT_COLUMNS.length` per row. */
  readonly texts: (string | null)[];
  /** `INTEGER_COLUMNS.length` per row. */
  readonly integers: Float64Array;
}

const TEXTS = TEXT_COLUMNS.length;
const INTEGERS = INTEGER_COLUMNS.length;

export function packRows(rows: readonly Row[]): PackedRows {
  const count = rows.length;
  const texts = new Array<string | null>(count * TEXTS);
  const integers = new Float64Array(count * INTEGERS);
  for (let i = 0; i < count; i++) {
    const row = rows[i]!;
    for (let c = 0; c < TEXTS; c++) texts[i * TEXTS + c] = row[c] as string | null;
    for (let c = 0; c < INTEGERS; c++) {
      const value = row[TEXTS + c];
      integers[i * INTEGERS + c] = value === null ? Number.NaN : (value as number);
    }
  }
  return { count, texts, integers };
}

/**
 * What `recordsOf` keeps from one page to the next, so records share strings rather than each
 * holding a copy: the topic ids (a partition's thousands of records would otherwise each hold
 * the same 22 characters) and the last topic name (records come in path order, a partition's
 * together).
 */
export class SharedStrings {
  readonly topicIds = new Map<string, string>();
  topic = '';
}

/**
 * An integer read from the packed rows, as a small integer where it fits. A `Float64Array` hands
 * out every element as a heap number, and a record field once given one keeps each value boxed:
 * a million records held 76 MB more than read straight from SQLite until this.
 */
function integer(value: number): number {
  return (value | 0) === value ? value | 0 : value;
}

/** The records of packed rows. */
export function recordsOf(rows: PackedRows, shared: SharedStrings): SegmentRecord[] {
  const { count, texts, integers } = rows;
  const records = new Array<SegmentRecord>(count);
  for (let i = 0; i < count; i++) {
    const t = i * TEXTS;
    const n = i * INTEGERS;
    const path = texts[t]!;
    const crc32c = texts[t + 1];
    const checksums = crc32c == null ? undefined : { crc32c, sha256: texts[t + 2]! };
    const size = integer(integers[n + 2]!);
    const files: { -readonly [E in keyof SegmentFiles]: SegmentFiles[E] } = { log: checksums ? { size, checksums } : { size } };
    if (!Number.isNaN(integers[n + 3])) files.index = { size: integer(integers[n + 3]!) };
    if (!Number.isNaN(integers[n + 4])) files.timeindex = { size: integer(integers[n + 4]!) };
    if (!Number.isNaN(integers[n + 5])) files.txnindex = { size: integer(integers[n + 5]!) };
    // `<topic>-<partition>/…`: the topic ends at the last '-' before the '/'.
    const topicEnd = path.lastIndexOf('-', path.indexOf('/'));
    if (topicEnd !== shared.topic.length || !path.startsWith(shared.topic)) shared.topic = path.slice(0, topicEnd);
    const isArchived = integers[n + 9] === 1;
    const record: { -readonly [K in keyof SegmentRecord]: SegmentRecord[K] } = {
      path,
      topic: shared.topic,
      partition: integer(integers[n]!),
      baseOffset: integer(integers[n + 1]!),
      size,
      files,
      lastModified: integer(integers[n + 6]!),
      lastAccessAt: integer(integers[n + 7]!),
      policy: TIER_CODES[integers[n + 8]!]!,
      isArchived,
      state: STATE_CODES[integers[n + 11]!]!,
      version: integer(integers[n + 12]!),
    };
    // Archives are stored under the segment's own path (see objectKeyOf).
    if (isArchived) record.objectKey = path;
    if (checksums) record.checksums = checksums;
    if (!Number.isNaN(integers[n + 10])) record.archivedAt = integer(integers[n + 10]!);
    const id = texts[t + 3];
    if (id != null) {
      let one = shared.topicIds.get(id);
      if (one === undefined) shared.topicIds.set(id, (one = id));
      record.topicId = one;
    }
    records[i] = record;
  }
  return records;
}
