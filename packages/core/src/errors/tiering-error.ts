import { ColdStoreError } from './cold-store-error.js';

/** Stable codes of the tiering layer's failures; the console maps them to HTTP statuses. */
export const TIERING_ERROR_CODES = [
  /** A segment path that is not `<topic>-<partition>/<20-digit base offset>.log`. */
  'INVALID_SEGMENT_PATH',
  /** A well-formed path no segment answers to. */
  'UNKNOWN_SEGMENT',
  /** A topic-partition this data dir and its metadata know nothing of. */
  'UNKNOWN_PARTITION',
  /** A whole offset ≥ 0 before the partition's first segment or past its end. */
  'OFFSET_OUT_OF_RANGE',
  /** An argument that is not what the call takes (an offset that is not a whole number ≥ 0, a negative `maxBytes`). */
  'INVALID_ARGUMENT',
  /** The operation is refused for this segment (active, internal topic, topic never tiered). */
  'NOT_ALLOWED',
  /** `storage.tiered.enabled` is false. */
  'TIERING_DISABLED',
  /** The cold store lacks what the metadata says is there, or holds something else. */
  'REMOTE_MISSING',
  'REMOTE_CORRUPT',
  /** A local segment file is not what Kafka writes. */
  'CORRUPT_SEGMENT',
  /** A segment's local file or folder cannot be read, written or deleted (a read-only or full disk, no permission). */
  'LOCAL_FAILURE',
  /** The metadata store cannot be opened, read or written. */
  'METADATA_FAILURE',
  /** Another writer changed the record first (a networked metadata store's compare-and-set). */
  'METADATA_CONFLICT',
  /** Another live process tiers this data dir. */
  'DATA_DIR_LOCKED',
  /** The cold store's prefix belongs to another data dir (docs/ARCHITECTURE.md, "The cold store's owner"). */
  'COLD_STORE_CLAIMED',
  /** `close()` was called. */
  'CLOSED',
] as const;

export type TieringErrorCode = (typeof TIERING_ERROR_CODES)[number];

/** A tiering failure: what was asked, of which segment, and why it could not be done. */
export class TieringError extends Error {
  override readonly name = 'TieringError';
  /**
   * `OFFSET_OUT_OF_RANGE` past the end of a partition: its log end offset (the offset after its
   * last record, the next it assigns), as Kafka's fetch names it, so a consumer knows where to
   * resume. Undefined for other failures.
   */
  readonly logEndOffset: number | undefined;
  constructor(
    readonly code: TieringErrorCode,
    message: string,
    readonly segmentPath?: string,
    options?: { cause?: unknown; logEndOffset?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.logEndOffset = options?.logEndOffset;
  }
}

/**
 * `error` told as a failure about `segmentPath`: a tiering failure that names no segment (the
 * metadata store's) is wrapped with `what` ("cannot archive <path>") before its message; a
 * failure of one of this machine's files (a pool's `localPath`, or a raw system call's error:
 * a read-only or full disk) is `LOCAL_FAILURE`, never taken for the cold store's; any other
 * error is returned as it is.
 */
export function ofSegment(error: Error, what: string, segmentPath: string): Error {
  // One of this machine's files failed (a read-only or full disk), not the cold store: say so.
  if (error instanceof ColdStoreError && error.localPath !== undefined) {
    return new TieringError('LOCAL_FAILURE', `${what}: ${error.message.replace(/^[\w-]+: /, '')}`, segmentPath, { cause: error });
  }
  if (isSystemError(error)) return new TieringError('LOCAL_FAILURE', `${what}: ${error.message}`, segmentPath, { cause: error });
  if (!(error instanceof TieringError) || error.segmentPath !== undefined) return error;
  return new TieringError(error.code, `${what}: ${error.message}`, segmentPath, { cause: error });
}

/** A raw error of a system call (`EROFS: read-only file system, mkdir '…'`): the protocols' own file operations. */
function isSystemError(error: Error): boolean {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof syscall === 'string';
}
