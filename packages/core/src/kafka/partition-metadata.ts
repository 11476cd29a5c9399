import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

// A partition's `partition.metadata` (Kafka 2.8 and later): the id of the topic the partition
// belongs to. Topic names are reused (a topic deleted and created again keeps its name); ids
// never are, so the id is what tells a partition's segments from those of a deleted topic of
// the same name (docs/ARCHITECTURE.md, "Topic ids").

/** The file's name in every partition folder. */
export const PARTITION_METADATA_FILE = 'partition.metadata';

/**
 * Kafka's `PartitionMetadataFile`: `version: 0`, then `topic_id: <id>`, the id a `Uuid` written
 * as 22 base64url characters (16 bytes, no padding). Kafka splits each line at `:` and the
 * whitespace after it.
 */
const FORMAT = /^version:\s+0\r?\ntopic_id:\s+([A-Za-z0-9_-]{22})\s*$/;

/** Kafka's `Uuid.ZERO_UUID`, never a topic's id. */
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/**
 * The topic id in the text of a `partition.metadata`, or undefined when the text is not one
 * Kafka would accept: an unknown version, a malformed or zero id. An id that cannot be read is
 * taken as no id at all, so nothing is ever decided from a file that is half-written or foreign.
 */
export function parsePartitionMetadata(text: string): string | undefined {
  const id = FORMAT.exec(text)?.[1];
  if (id === undefined || id === ZERO_UUID) return undefined;
  // 22 characters hold 132 bits; a real 16-byte id leaves the last character's low 4 bits zero.
  return Buffer.from(id, 'base64url').toString('base64url') === id ? id : undefined;
}

/** Kafka writes a few dozen bytes; anything larger is not this file. */
const MAX_BYTES = 256;

/**
 * The topic id of the partition folder `dir`, or undefined when it has no readable
 * `partition.metadata`. Opened without blocking and read only if it is a regular file: a FIFO
 * under that name must not hold one of libuv's threads.
 */
export async function readTopicId(dir: string): Promise<string | undefined> {
  const file = await open(join(dir, PARTITION_METADATA_FILE), constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (file === undefined) return undefined;
  try {
    const stats = await file.stat();
    if (!stats.isFile() || stats.size > MAX_BYTES) return undefined;
    const buffer = Buffer.alloc(MAX_BYTES);
    const { bytesRead } = await file.read(buffer, 0, MAX_BYTES, 0);
    return parsePartitionMetadata(buffer.toString('latin1', 0, bytesRead));
  } catch {
    return undefined;
  } finally {
    await file.close().catch(() => {});
  }
}
