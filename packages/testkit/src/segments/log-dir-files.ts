import { createHash } from 'node:crypto';

// The small text files a Kafka broker keeps beside its segments, in Kafka's own formats.

/** A topic-partition and an offset, one line of an offset checkpoint file. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

/**
 * Kafka's `CheckpointFile` text: version 0, the entry count, then one `topic partition offset`
 * line each. The log dir's `recovery-point-offset-checkpoint`, `replication-offset-checkpoint`,
 * `log-start-offset-checkpoint` and `cleaner-offset-checkpoint` all use it.
 */
export function offsetCheckpoint(entries: readonly PartitionOffset[]): string {
  return ['0', String(entries.length), ...entries.map((e) => `${e.topic} ${e.partition} ${e.offset}`)].join('\n') + '\n';
}

/** A partition's `leader-epoch-checkpoint`: version 0, the count, then `epoch startOffset` lines. */
export function leaderEpochCheckpoint(entries: ReadonlyArray<{ epoch: number; startOffset: bigint }>): string {
  return ['0', String(entries.length), ...entries.map((e) => `${e.epoch} ${e.startOffset}`)].join('\n') + '\n';
}

/** A partition's `partition.metadata`: the topic id Kafka assigned when the topic was created (no final newline). */
export function partitionMetadata(topicId: string): string {
  return `version: 0\ntopic_id: ${topicId}`;
}

/** The log dir's `meta.properties` (version 1, KRaft), as Java's `Properties.store` writes it. */
export function metaProperties(options: { nodeId: number; directoryId: string; clusterId: string; writtenAt: Date }): string {
  return `#\n#${javaDate(options.writtenAt)}\nnode.id=${options.nodeId}\ndirectory.id=${options.directoryId}\nversion=1\ncluster.id=${options.clusterId}\n`;
}

/** `.kafka_cleanshutdown`: written by a clean shutdown, deleted when the broker starts again. */
export function cleanShutdownFile(brokerEpoch: number): string {
  return JSON.stringify({ version: 0, brokerEpoch });
}

/** A Kafka `Uuid` (16 bytes, base64url without padding, as topic and directory ids are written), derived from `name`. */
export function kafkaUuid(name: string): string {
  for (let salt = 0; ; salt++) {
    const id = createHash('sha256').update(`${name}#${salt}`).digest().subarray(0, 16).toString('base64url');
    if (!id.startsWith('-')) return id; // Kafka never hands out an id that reads like a command-line flag
  }
}

/** The 32 hex digits Kafka puts between `<topic>-<partition>.` and `-delete` / `-future`. */
export function dirUniqueId(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `java.util.Date.toString()` in UTC: `Wed Nov 25 21:28:11 UTC 2026`. */
function javaDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${two(date.getUTCDate())} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`;
}
