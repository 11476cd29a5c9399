import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ColdStore } from '../contracts/cold-store.js';
import { TieringError } from '../errors/tiering-error.js';
import { findBatch, readBatchesOrEnd, type FetchedBatches, type LocatedBatch, type PastLastBatch } from '../kafka/batch-walker.js';
import { assertIntoFits, viewOf } from '../kafka/buffer-view.js';
import { openFileRangeReader, type ByteRangeReader } from '../kafka/byte-range-reader.js';
import { KafkaFormatError } from '../kafka/kafka-format-error.js';
import { OffsetIndex } from '../kafka/offset-index.js';
import { parseTransactionIndex, TRANSACTION_INDEX_ENTRY_SIZE, type AbortedTransaction } from '../kafka/transaction-index.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { requireTopicNotDeleted } from '../tiered/deleted-topics.js';
import { localPathOf } from '../tiered/segment-files.js';
import { ChunkCache, requireChunks } from './chunk-cache.js';
import { IndexCache, type RemoteSegment } from './index-cache.js';
import { MAX_READ_BYTES, requireInto, requireMaxBytes, requireOffset } from './read-arguments.js';
import { zeroCounters, type RemoteReadCounters } from './remote-read-counters.js';

/** What `readAt` returns: the bytes a Kafka fetch would, and where they came from. */
export interface ReadAtResult {
  readonly segmentPath: string;
  /** Byte position in the segment's `.log` of the first batch returned. */
  readonly position: number;
  /** The offset after the last batch returned: where the next read starts. */
  readonly nextOffset: number;
  /** Whole record batches, exactly as stored (CRC-32C checked): a view of `into` when one was given and they fit it. */
  readonly bytes: Buffer;
  /** Each batch's header and byte position in the segment. */
  readonly batches: readonly LocatedBatch[];
  readonly source: 'local' | 'remote';
  /**
   * The transactions aborted among these batches, as a Kafka fetch lists them for a
   * `read_committed` consumer (producer id and first offset; it drops their records): from the
   * `.txnindex` of this segment and of later ones, local or archived.
   */
  readonly abortedTransactions: readonly AbortedTransactionRef[];
  /** What this read cost the cold store (zero when served locally or from the cache). */
  readonly fetched: { readonly bytes: number; readonly requests: number };
}

/** One aborted transaction of a fetch: Kafka's `FetchResponse.AbortedTransaction`. */
export interface AbortedTransactionRef {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

export interface ReadAtOptions {
  /** At most this many bytes, but at least one whole batch; default 1 MiB (Kafka's `max.partition.fetch.bytes`). */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  /**
   * A buffer the caller lends for the bytes: they are written to its start, `bytes` is a view of
   * it, and the read allocates nothing for them. The read returns at most `into.byteLength`
   * bytes, as it does `maxBytes`, except a first batch larger than `into`, which comes in a
   * buffer of its own. Without it every read returns a new buffer, and a reader making many
   * reads of 1 MiB has the collector run often (docs/ARCHITECTURE.md, "Remote reads"). The caller
   * reuses it once it is done with the bytes (never for two reads at once); after a failed read
   * its contents are unspecified.
   */
  readonly into?: Uint8Array;
}

export const DEFAULT_READ_MAX_BYTES = 1024 * 1024;

/**
 * A read past a segment's last batch, and where its data ends, learnt from the batch headers the
 * read walked on its way (from the offset index's floor entry to the end): no extra I/O.
 */
export interface PastSegmentEnd {
  readonly pastEnd: true;
  /** The offset after the segment's last whole batch; undefined when it holds none (from the walk's start on, which is then its start). */
  readonly endOffset: number | undefined;
}

/** Sequential readers remembered for prefetching. */
const READERS_REMEMBERED = 4_096;
/** Chunks fetched at once for one read. */
const PARALLEL_CHUNKS = 4;

/**
 * Reads record batches by offset from local segments and, without restoring them, from archived
 * ones: the offset index (fetched once, cached) gives a position, batch headers are walked from
 * there, and only the chunks holding the needed bytes are fetched, each verified against the
 * CRC32C its manifest recorded. A reader moving forward has its next chunk prefetched.
 */
export class RemoteReads {
  readonly counters: RemoteReadCounters = zeroCounters();
  readonly chunks: ChunkCache;
  readonly #indexes: IndexCache;
  readonly #localIndexes = new Map<string, { size: number; mtimeMs: number; index: OffsetIndex }>();
  /** Per segment, the last chunk a read ended in: the next read starting there or after is sequential. */
  readonly #lastChunk = new Map<string, number>();

  constructor(
    private readonly dataDir: string,
    cacheDir: string,
    store: ColdStore,
    capacity: () => number,
  ) {
    this.chunks = new ChunkCache(join(cacheDir, 'chunks'), store, capacity, this.counters);
    this.#indexes = new IndexCache(this.chunks, store, this.counters);
  }

  /**
   * Batches from `offset` in `segment`; undefined when the offset is past its last batch.
   * `appending`: the segment is its partition's active one, which the broker may be writing a
   * batch to (see `WalkOptions.appending`).
   */
  async read(segment: SegmentRecord, offset: number, options: ReadAtOptions = {}, appending = false): Promise<ReadAtResult | undefined> {
    const read = await this.readOrEnd(segment, offset, options, appending);
    return 'pastEnd' in read ? undefined : read;
  }

  /** `read`, saying where the segment's data ends when the offset is past its last batch (`PastSegmentEnd`). */
  async readOrEnd(segment: SegmentRecord, offset: number, options: ReadAtOptions = {}, appending = false): Promise<ReadAtResult | PastSegmentEnd> {
    requireOffset(offset);
    const asked = options.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    requireMaxBytes(asked);
    const { into, signal } = options;
    requireInto(into);
    const maxBytes = Math.min(asked, MAX_READ_BYTES, into?.byteLength ?? MAX_READ_BYTES);
    try {
      return segment.policy === 'cold' ? await this.#remote(segment, offset, maxBytes, into, signal) : await this.#local(segment, offset, maxBytes, into, appending);
    } catch (error) {
      if (error instanceof KafkaFormatError) {
        throw new TieringError('CORRUPT_SEGMENT', `${segment.path} (${segment.policy === 'cold' ? 'archived' : 'local'}) holds bytes that are not Kafka record batches: ${error.message}`, segment.path, { cause: error });
      }
      throw error;
    }
  }

  /**
   * The aborted transactions a Kafka fetch of `[fetchOffset, upperBound)` lists, starting in
   * `segment` and going on through `next` ones, as Kafka's `collectAbortedTxns` does: an entry
   * counts when its transaction overlaps the range, and the search ends at an entry whose last
   * stable offset reaches `upperBound` (no transaction open before it was still open then).
   * A transaction's entry is in the `.txnindex` of the segment holding its abort marker, which
   * may be a later one. Only segments recorded with a `.txnindex` are read, and the active one
   * (`isActive`), which may have gained one since the last refresh.
   */
  async abortedTransactions(
    segment: SegmentRecord,
    fetchOffset: number,
    upperBound: number,
    next: (segment: SegmentRecord) => SegmentRecord | undefined,
    isActive: (segment: SegmentRecord) => boolean,
    signal?: AbortSignal,
  ): Promise<AbortedTransactionRef[]> {
    const [from, to] = [BigInt(fetchOffset), BigInt(upperBound)];
    const found: AbortedTransactionRef[] = [];
    for (let at: SegmentRecord | undefined = segment; at !== undefined; at = next(at)) {
      if (at.files.txnindex === undefined && !(at.policy !== 'cold' && isActive(at))) continue;
      const entries = at.policy === 'cold' ? await this.#indexes.abortedTransactions(at.path, signal) : await this.#localAborted(at, signal);
      for (const entry of entries) {
        if (entry.lastOffset >= from && entry.firstOffset < to) found.push({ producerId: entry.producerId, firstOffset: entry.firstOffset });
        if (entry.lastStableOffset >= to) return found;
      }
    }
    return found;
  }

  /**
   * A local segment's `.txnindex` (none if it has none; a broker appending an entry may show part
   * of it, which is left out). One evicted since it was looked up is read from its archive.
   */
  async #localAborted(segment: SegmentRecord, signal?: AbortSignal): Promise<AbortedTransaction[]> {
    const path = localPathOf(this.dataDir, segment, 'txnindex');
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (bytes === undefined) return segment.isArchived && segment.files.txnindex !== undefined ? this.#indexes.abortedTransactions(segment.path, signal) : [];
    return parseTransactionIndex(bytes.subarray(0, bytes.length - (bytes.length % TRANSACTION_INDEX_ENTRY_SIZE)), path);
  }

  /** The segment came back to local disk or left it: its cached remote pieces are stale. */
  async forget(segmentPath: string): Promise<void> {
    this.#indexes.forget(segmentPath);
    this.#lastChunk.delete(segmentPath);
    this.#localIndexes.delete(segmentPath);
    await this.chunks.dropSegment(segmentPath);
  }

  async #local(segment: SegmentRecord, offset: number, maxBytes: number, into: Uint8Array | undefined, appending: boolean): Promise<ReadAtResult | PastSegmentEnd> {
    this.counters.localReads++;
    const index = await this.#localIndex(segment);
    const reader = await openFileRangeReader(localPathOf(this.dataDir, segment, 'log'));
    try {
      const fetched = await readFromIndex(reader.read, reader.size, index, { offset, maxBytes, into, source: segment.path, appending });
      return result(segment, fetched, 'local', { bytes: 0, requests: 0 });
    } finally {
      await reader.close();
    }
  }

  /** The local `.index`, parsed once per size and mtime (the active segment's keeps changing). */
  async #localIndex(segment: SegmentRecord): Promise<OffsetIndex> {
    const path = localPathOf(this.dataDir, segment, 'index');
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) return OffsetIndex.parse(Buffer.alloc(0), BigInt(segment.baseOffset));
    const cached = this.#localIndexes.get(segment.path);
    if (cached && cached.size === stats.size && cached.mtimeMs === stats.mtimeMs) return cached.index;
    const index = OffsetIndex.parse(await readFile(path), BigInt(segment.baseOffset), path);
    if (this.#localIndexes.size >= READERS_REMEMBERED) this.#localIndexes.delete(this.#localIndexes.keys().next().value!);
    this.#localIndexes.set(segment.path, { size: stats.size, mtimeMs: stats.mtimeMs, index });
    return index;
  }

  async #remote(segment: SegmentRecord, offset: number, maxBytes: number, into: Uint8Array | undefined, signal?: AbortSignal): Promise<ReadAtResult | PastSegmentEnd> {
    this.counters.remoteReads++;
    if (segment.topicId !== undefined) await requireTopicNotDeleted(this.dataDir, segment, 'read');
    const before = { requests: this.counters.requests, bytes: this.counters.fetchedBytes };
    const remote = await this.#indexes.get(segment.path, signal);
    const touched: number[] = [];
    const fetched = await this.chunks.reading(() => readFromIndex(this.#chunkReader(remote, touched, maxBytes, signal), remote.manifest.files.log.size, remote.index, { offset, maxBytes, into, source: segment.path }));
    this.#prefetchAfter(remote, touched);
    // Concurrent reads share the counters; a read alone on a segment sees exactly its own cost.
    const cost = { bytes: this.counters.fetchedBytes - before.bytes, requests: this.counters.requests - before.requests };
    return result(segment, fetched, 'remote', cost);
  }

  /**
   * A `ByteRangeReader` over an archived `.log` made of verified chunks. The chunks one read
   * touches are kept while it may come back to them, so walking many headers in one chunk costs
   * one fetch (or one disk read), not one per header. A read only goes back as far as the first
   * batch it returns, at most `maxBytes` behind the header it is at (unless that one batch is
   * larger): chunks further behind are let go, or a walk from a distant index entry (a large
   * `index.interval.bytes`, an index with no entries) would hold the whole segment in memory.
   * What it returns is a copy, into the caller's `into` or a new buffer: chunk memory is reused
   * once the read is over (`ChunkCache.reading`).
   */
  #chunkReader(remote: RemoteSegment, touched: number[], maxBytes: number, signal?: AbortSignal): ByteRangeReader {
    const { manifest } = remote;
    const chunkSize = requireChunks(manifest).size;
    const size = manifest.files.log.size;
    const held = new Map<number, Promise<Buffer>>();
    const behind = Math.ceil(maxBytes / chunkSize) + 1;
    const chunk = (index: number) => {
      let bytes = held.get(index);
      if (!bytes) {
        bytes = this.chunks.read({ manifest, index }, signal);
        held.set(index, bytes);
        touched.push(index);
      }
      return bytes;
    };
    return async (position, length, into) => {
      assertIntoFits(into, length);
      const end = Math.min(size, position + length);
      if (position >= end) return Buffer.alloc(0);
      const first = Math.floor(position / chunkSize);
      const last = Math.floor((end - 1) / chunkSize);
      for (const index of held.keys()) if (index < first - behind) held.delete(index);
      const parts: Buffer[] = [];
      for (let i = first; i <= last; i += PARALLEL_CHUNKS) {
        const batch = await Promise.all(Array.from({ length: Math.min(PARALLEL_CHUNKS, last - i + 1) }, (_, k) => chunk(i + k)));
        // Only the part of each chunk the range covers, copied (`Buffer.concat` copies even one part): the chunk's memory is reused once the read is over.
        for (const [k, bytes] of batch.entries()) {
          const start = (i + k) * chunkSize;
          parts.push(bytes.subarray(Math.max(0, position - start), Math.min(bytes.length, end - start)));
        }
      }
      if (!into) return Buffer.concat(parts);
      let at = 0;
      for (const part of parts) {
        into.set(part, at);
        at += part.length;
      }
      return viewOf(into, at);
    };
  }

  /** A read that continued where the last one on this segment ended gets the next chunk fetched ahead. */
  #prefetchAfter({ manifest }: RemoteSegment, touched: readonly number[]): void {
    if (touched.length === 0) return;
    const first = Math.min(...touched);
    const last = Math.max(...touched);
    const previous = this.#lastChunk.get(manifest.segment);
    this.#lastChunk.delete(manifest.segment);
    this.#lastChunk.set(manifest.segment, last);
    if (this.#lastChunk.size > READERS_REMEMBERED) this.#lastChunk.delete(this.#lastChunk.keys().next().value!);
    const chunks = requireChunks(manifest).crc32c.length;
    if (previous !== undefined && (first === previous || first === previous + 1) && last + 1 < chunks) {
      this.chunks.prefetch({ manifest, index: last + 1 });
    }
  }
}

/**
 * The batches from `offset` in a `.log` of `size` bytes, walking from the offset index's floor
 * entry. An entry names the batch starting at its position, so one at or past the end of the
 * `.log`, or where no batch starts (in a preallocated zero tail), is a corrupt index: an index
 * that outlived the log data it points at, which Kafka's recovery would truncate. Walking from
 * it would find nothing and hand the read to the next segment, skipping offsets; the read scans
 * this segment from its start instead.
 */
async function readFromIndex(
  read: ByteRangeReader,
  size: number,
  index: OffsetIndex,
  { offset, maxBytes, into, source, appending = false }: { offset: number; maxBytes: number; into: Uint8Array | undefined; source: string; appending?: boolean },
): Promise<FetchedBatches | PastLastBatch> {
  const options = { targetOffset: BigInt(offset), maxBytes, into, source, appending };
  const floor = index.lookup(BigInt(offset)).position;
  if (floor >= size) return readBatchesOrEnd(read, { ...options, startPosition: 0 });
  const fetched = await readBatchesOrEnd(read, { ...options, startPosition: floor });
  if (!('pastEnd' in fetched) || floor === 0) return fetched;
  // Nothing from the floor on: past the last batch if one starts there, else the entry is corrupt.
  if ((await findBatch(read, floor, 0n, { source, appending })) !== undefined) return fetched;
  return readBatchesOrEnd(read, { ...options, startPosition: 0 });
}

function result(segment: SegmentRecord, fetched: FetchedBatches | PastLastBatch, source: 'local' | 'remote', cost: { bytes: number; requests: number }): ReadAtResult | PastSegmentEnd {
  if ('pastEnd' in fetched) {
    const last = fetched.lastBatch?.header.lastOffset;
    return { pastEnd: true, endOffset: last === undefined ? undefined : Number(last + 1n) };
  }
  return {
    segmentPath: segment.path,
    position: fetched.position,
    nextOffset: Number(fetched.nextOffset),
    bytes: fetched.bytes,
    batches: fetched.batches,
    source,
    abortedTransactions: [],
    fetched: cost,
  };
}
