/**
 * What a partition folder in a log dir is, by its name (Kafka's `UnifiedLog.parseTopicPartitionName`):
 * - `live`: `<topic>-<partition>`, the partition's log;
 * - `delete`: `<topic>-<partition>.<id>-delete`, a deleted partition waiting to be removed;
 * - `future`: `<topic>-<partition>.<id>-future`, a copy being moved here from another log dir;
 * - `stray`: `<topic>-<partition>.<id>-stray`, a partition this broker no longer hosts.
 * Only a `live` folder holds segments of the log.
 */
export type PartitionDirKind = 'live' | 'delete' | 'future' | 'stray';

export interface PartitionDirName {
  topic: string;
  partition: number;
  kind: PartitionDirKind;
}

// Kafka's legal topic names: ASCII letters, digits, '.', '_' and '-', at most 249 characters.
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const MARKED = /^(.+)\.([^.]+)-(delete|future|stray)$/;

/** Whether `name` is a name Kafka allows a topic (`.` and `..` are not). */
export const isLegalTopicName = (name: string) => TOPIC.test(name) && name !== '.' && name !== '..';
const PARTITION = /^(0|[1-9]\d{0,9})$/;

/** Parses a folder name of a log dir, or `undefined` when it is not a partition folder. */
export function parsePartitionDirName(name: string): PartitionDirName | undefined {
  const marked = MARKED.exec(name);
  const kind: PartitionDirKind = marked === null ? 'live' : (marked[3] as PartitionDirKind);
  const base = marked === null ? name : marked[1]!;
  const dash = base.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const topic = base.slice(0, dash);
  const partitionText = base.slice(dash + 1);
  if (!isLegalTopicName(topic) || !PARTITION.test(partitionText)) return undefined;
  const partition = Number(partitionText);
  if (partition > 2 ** 31 - 1) return undefined;
  return { topic, partition, kind };
}

/** `<topic>-<partition>`: the folder Kafka keeps a live partition's log in. */
export function formatPartitionDirName(topic: string, partition: number): string {
  if (!isLegalTopicName(topic)) throw new RangeError(`not a legal Kafka topic name: ${JSON.stringify(topic)}`);
  if (!Number.isInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) throw new RangeError(`a partition is a non-negative int32, got ${partition}`);
  return `${topic}-${partition}`;
}
