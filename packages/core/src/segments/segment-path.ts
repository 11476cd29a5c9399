import { TieringError } from '../errors/tiering-error.js';

/** A segment's identity, parsed from its path `<topic>-<partition>/<20-digit base offset>.log`. */
export interface SegmentId {
  /** The canonical path, relative to the data dir. */
  readonly path: string;
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: number;
}

/** The files of one segment, by extension; `.txnindex` exists only where a transaction aborted. */
export const SEGMENT_FILE_EXTENSIONS = ['log', 'index', 'timeindex', 'txnindex'] as const;
export type SegmentFileExtension = (typeof SEGMENT_FILE_EXTENSIONS)[number];

// Kafka's legal topic names: 1–249 of [a-zA-Z0-9._-], never "." or "..".
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const PARTITION_DIR = /^(.+)-(0|[1-9][0-9]{0,9})$/;
const SEGMENT_FILE = /^([0-9]{20})\.(log|index|timeindex|txnindex)$/;

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
  return `${String(baseOffset).padStart(20, '0')}.${extension}`;
}

/** `orders`, 0, 4096 → `orders-0/00000000000000004096.log`. */
export function segmentPathOf(topic: string, partition: number, baseOffset: number): string {
  return `${partitionDirName(topic, partition)}/${segmentFileName(baseOffset)}`;
}

/** The topic and partition a folder name of a log dir stands for, or undefined for anything else. */
export function parsePartitionDir(name: string): { topic: string; partition: number } | undefined {
  // Deleted, future (a replica moving between dirs) and stray folders look alike but are not ours.
  if (name.startsWith('.') || /-(delete|future|stray)$/.test(name)) return undefined;
  const match = PARTITION_DIR.exec(name);
  if (!match || !TOPIC.test(match[1]!) || match[1] === '.' || match[1] === '..') return undefined;
  const partition = Number(match[2]);
  return partition <= 0x7fffffff ? { topic: match[1]!, partition } : undefined;
}

/** The base offset and extension of a segment file name, or undefined for any other file. */
export function parseSegmentFileName(name: string): { baseOffset: number; extension: SegmentFileExtension } | undefined {
  const match = SEGMENT_FILE.exec(name);
  if (!match) return undefined;
  const baseOffset = Number(match[1]);
  // Offsets beyond 2^53 cannot be held exactly in a JavaScript number; no real log reaches them.
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, extension: match[2] as SegmentFileExtension };
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
  const file = parseSegmentFileName(parts[1]!);
  if (!file || file.extension !== 'log') return fail(`"${parts[1]}" is not a <20-digit base offset>.log file`);
  return { path: input, topic: partition.topic, partition: partition.partition, baseOffset: file.baseOffset };
}
