import { TieringError } from '../errors/tiering-error.js';
import { isLegalTopicName } from '../kafka/partition-dir-name.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { describeArgument, requireInto, requireMaxBytes, requireOffset } from '../reads/read-arguments.js';
import { DEFAULT_READ_MAX_BYTES, type ReadAtOptions, type ReadAtResult, type RemoteReads } from '../reads/remote-reads.js';
import type { SegmentCatalog } from './segment-catalog.js';

/**
 * Offsets to segments and fetches: `TieredStorage.findSegment` and `readAt`, on the catalog's
 * index and the remote reads (docs/ARCHITECTURE.md, "Remote reads").
 */
export class OffsetReads {
  constructor(
    private readonly dataDir: string,
    private readonly catalog: SegmentCatalog,
    private readonly reads: RemoteReads,
    /** The segment's record now, or `UNKNOWN_SEGMENT`. */
    private readonly getSegment: (path: string) => SegmentRecord,
  ) {}

  /**
   * The segment holding `offset` by base offset (the last segment starting at or before it),
   * archived or not. An unknown partition or an offset before the first segment throws.
   */
  findSegment(topic: string, partition: number, offset: number): SegmentRecord {
    if (typeof topic !== 'string' || !isLegalTopicName(topic) || !Number.isSafeInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) {
      throw new TieringError(
        'UNKNOWN_PARTITION',
        `not a topic-partition: ${describeArgument(topic)}, ${describeArgument(partition)} (a topic is 1 to 249 ASCII letters, digits, '.', '_' or '-'; a partition a whole number from 0 to 2^31 - 1)`,
      );
    }
    // Not a whole number ≥ 0 at all: INVALID_ARGUMENT; one the log does not hold: OFFSET_OUT_OF_RANGE.
    requireOffset(offset);
    const record = this.catalog.index.floor(topic, partition, offset);
    if (record !== undefined) return record;
    const segments = this.catalog.index.partition(topic, partition);
    if (!segments) throw new TieringError('UNKNOWN_PARTITION', `no segments of ${topic}-${partition} in ${this.dataDir} or its metadata`);
    throw new TieringError('OFFSET_OUT_OF_RANGE', `offset ${offset} is before the first segment of ${topic}-${partition} (base offset ${segments[0]!.baseOffset})`);
  }

  /** `TieredStorage.readAt`: the batches from the segment holding `offset`, or the next ones holding later offsets. */
  async readAt(topic: string, partition: number, offset: number, options: ReadAtOptions = {}): Promise<ReadAtResult> {
    const maxBytes = options.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    requireMaxBytes(maxBytes);
    requireInto(options.into);
    let segment: SegmentRecord = this.findSegment(topic, partition, offset);
    // Bounded: each turn moves to the next segment of the partition, or returns.
    for (;;) {
      // The active segment may end in a batch the broker is writing: its data ends before it.
      const appending = this.catalog.index.isLast(segment);
      const read = { maxBytes, signal: options.signal, into: options.into };
      const at = segment;
      const result = await this.reads.readOrEnd(at, offset, read, appending).catch(async (error: NodeJS.ErrnoException) => {
        // Evicted (or deleted) between the lookup and the read: read it as it is now.
        if (error.code !== 'ENOENT') throw error;
        const now = this.getSegment(at.path);
        return this.reads.readOrEnd(now, offset, read, appending).catch((again: NodeJS.ErrnoException) => {
          if (again.code !== 'ENOENT' || now.policy === 'cold') throw again;
          // Recorded local, yet gone: the broker deleted it (its retention) since the last refresh.
          if (now.isArchived) return this.reads.readOrEnd({ ...now, policy: 'cold' }, offset, read);
          throw new TieringError('OFFSET_OUT_OF_RANGE', `offset ${offset} of ${topic}-${partition} was in ${now.path}, which the broker deleted from local disk since the last refresh (its retention) and which was never archived`, now.path);
        });
      });
      if (!('pastEnd' in result)) {
        const index = this.catalog.index;
        const aborted = await this.reads.abortedTransactions(segment, offset, result.nextOffset, (s) => index.next(s), (s) => index.isLast(s), options.signal);
        return aborted.length === 0 ? result : { ...result, abortedTransactions: aborted };
      }
      // Past the segment's last batch: the next segment holds the next offsets (a gap left by compaction or markers).
      const next = this.catalog.index.next(segment);
      if (next === undefined) throw pastLogEnd(topic, partition, offset, segment, result.endOffset);
      segment = next;
    }
  }
}

/**
 * `OFFSET_OUT_OF_RANGE` for an offset past the partition's last record, naming its log end
 * offset as Kafka's fetch does (the offset after the last record: where a consumer resumes).
 * The read learnt it on its way: it walked the last segment's batch headers to its end
 * (`endOffset`). A last segment holding no batch yet (just rolled) starts at the log end offset:
 * Kafka rolls a new segment at the offset it assigns next.
 */
function pastLogEnd(topic: string, partition: number, offset: number, last: SegmentRecord, endOffset: number | undefined): TieringError {
  const logEnd = endOffset ?? last.baseOffset;
  const where = endOffset === undefined ? `its last segment, ${last.path}, starts there and holds no record yet` : `the offset after its last record, in ${last.path}`;
  return new TieringError('OFFSET_OUT_OF_RANGE', `offset ${offset} is past the last record of ${topic}-${partition}: its log end offset is ${logEnd} (${where})`, undefined, { logEndOffset: logEnd });
}
