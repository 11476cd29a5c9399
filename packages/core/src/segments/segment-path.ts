import { TieringError } from '../errors/tiering-error.js';
import { parsePartitionDirName } from '../kafka/partition-dir-name.js';
import { formatSegmentFileName, parseSegmentFileName, type SegmentFileExtension } from '../kafka/segment-file-name.js';

/** A segment's identity, parsed from its path `<topic>-<partition>/<20-digit base offset>.log`. */
export interface SegmentId {
  /** The canonical path, relative to the data dir. */
  readonly path: string;
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: number;
}

/** Whether `topic` is one of Kafka's internal topics (`__consumer_offsets`, `__cluster_metadata`, …). */
export function isInternalTopic(topic: string): boolean {
  return topic.startsWith('__');
}

/** `orders`, 0 → `orders-0`. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** The 20-digit, zero-padded name Kafka gives a segment file with this base offset. */
export function segmentFileName(baseOffset: number, extension: SegmentFileExtension = 'log'): string {
  return formatSegmentFileName(BigInt(baseOffset), extension);
}

/** `orders`, 0, 4096 → `orders-0/00000000000000004096.log`. */
export function segmentPathOf(topic: string, partition: number, baseOffset: number): string {
  return `${partitionDirName(topic, partition)}/${segmentFileName(baseOffset)}`;
}

/** The topic and partition of a live partition folder of a log dir, or undefined for anything else. */
export function parsePartitionDir(name: string): { topic: string; partition: number } | undefined {
  const parsed = name.startsWith('.') ? undefined : parsePartitionDirName(name);
  // Deleted, future (a replica moving between dirs) and stray folders look alike but are not the live log.
  return parsed?.kind === 'live' ? { topic: parsed.topic, partition: parsed.partition } : undefined;
}

/**
 * The base offset and extension of a segment file name, or undefined for any other file. Base
 * offsets beyond 2^53 cannot be held exactly in a JavaScript number; no real log reaches them.
 */
export function segmentFileOf(name: string): { baseOffset: number; extension: SegmentFileExtension } | undefined {
  const file = parseSegmentFileName(name);
  if (file === undefined || file.baseOffset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { baseOffset: Number(file.baseOffset), extension: file.extension };
}

/**
 * Parses a segment path given by a caller (an operator, an HTTP request). Only the canonical form
 * is accepted: relative, `/`-separated, one partition folder and one `.log` file; anything else
 * (absolute, `..`, `\`, NUL, another extension) is `INVALID_SEGMENT_PATH` naming what is wrong.
 */
export function parseSegmentPath(input: unknown): SegmentId {
  const fail = (why: string): never => {
    throw new TieringError('INVALID_SEGMENT_PATH', `invalid segment path ${JSON.stringify(input)}: ${why}`, typeof input === 'string' ? input : undefined);
  };
  if (typeof input !== 'string') return fail('expected a string');
  if (input === '') return fail('it is empty');
  if (input.includes('\0')) return fail('it contains a NUL character');
  if (input.includes('\\')) return fail('it contains "\\"; use "/"');
  if (input.startsWith('/') || /^[A-Za-z]:/.test(input)) return fail('it must be relative to the data dir, not absolute');
  const parts = input.split('/');
  if (parts.some((part) => part === '..' || part === '.')) return fail('it must not contain "." or ".." segments');
  if (parts.length !== 2) return fail('expected <topic>-<partition>/<20-digit base offset>.log');
  const partition = parsePartitionDir(parts[0]!);
  if (!partition) return fail(`"${parts[0]}" is not a <topic>-<partition> folder`);
  const file = segmentFileOf(parts[1]!);
  if (!file || file.extension !== 'log') {
    // Twenty digits all the same, but an offset Kafka never gives (beyond int64) or this library cannot hold exactly.
    const digits = /^(\d{20})\.log$/.exec(parts[1]!)?.[1];
    if (digits !== undefined) return fail(`its base offset ${BigInt(digits)} is beyond ${parseSegmentFileName(parts[1]!) ? '2^53 - 1, the largest this library tracks' : "2^63 - 1, Kafka's largest offset"}`);
    return fail(`"${parts[1]}" is not a <20-digit base offset>.log file`);
  }
  return { path: input, topic: partition.topic, partition: partition.partition, baseOffset: file.baseOffset };
}
