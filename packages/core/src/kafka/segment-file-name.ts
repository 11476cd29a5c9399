/** The files of one segment, by extension. `.txnindex` exists only where a transaction was aborted. */
export const SEGMENT_FILE_EXTENSIONS = ['log', 'index', 'timeindex', 'txnindex'] as const;
export type SegmentFileExtension = (typeof SEGMENT_FILE_EXTENSIONS)[number];

const MAX_OFFSET = 2n ** 63n - 1n;
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)$/;

/**
 * The offset zero-padded to 20 digits: how Kafka starts the name of every file named by an
 * offset (segment files, `.snapshot` files, `__cluster_metadata` checkpoints).
 */
export function offsetFileNamePrefix(offset: bigint): string {
  if (offset < 0n || offset > MAX_OFFSET) throw new RangeError(`an offset is a non-negative int64, got ${offset}`);
  return offset.toString().padStart(20, '0');
}

/** `00000000000000000042.log`: the base offset zero-padded to 20 digits, as Kafka names segment files. */
export function formatSegmentFileName(baseOffset: bigint, extension: SegmentFileExtension): string {
  if (!SEGMENT_FILE_EXTENSIONS.includes(extension)) throw new RangeError(`not a segment file extension: ${JSON.stringify(extension)}`);
  return `${offsetFileNamePrefix(baseOffset)}.${extension}`;
}

/**
 * The base offset and extension of a segment file name, or `undefined` for anything else in a
 * partition folder: `.snapshot` (also named by a 20-digit offset), `leader-epoch-checkpoint`,
 * `partition.metadata`, and files with a further suffix (`.log.deleted`, `.log.cleaned`,
 * `.log.swap`, `.index.swap`), which are not segments of the live log.
 */
export function parseSegmentFileName(name: string): { baseOffset: bigint; extension: SegmentFileExtension } | undefined {
  const match = SEGMENT_FILE.exec(name);
  if (match === null) return undefined;
  const baseOffset = BigInt(match[1]!);
  if (baseOffset > MAX_OFFSET) return undefined;
  return { baseOffset, extension: match[2] as SegmentFileExtension };
}
