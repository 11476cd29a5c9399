import { checksumBytes } from '../checksums/checksums.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted } from '../errors/factories.js';
import { TieringError } from '../errors/tiering-error.js';
import { OffsetIndex } from '../kafka/offset-index.js';
import { parseTransactionIndex, type AbortedTransaction } from '../kafka/transaction-index.js';
import { requireManifest } from '../tiered/manifest-io.js';
import { objectKeyOf, type ManifestFile, type SegmentManifest } from '../tiered/segment-manifest.js';
import type { ChunkCache } from './chunk-cache.js';
import type { RemoteReadCounters } from './remote-read-counters.js';
import { SharedLoad } from './shared-load.js';

/** What a ranged read of an archived segment needs first: its manifest and its offset index. */
export interface RemoteSegment {
  readonly manifest: SegmentManifest;
  readonly index: OffsetIndex;
}

/** Archived segments whose manifest and index stay in memory (a few KiB each, at most 10 MiB). */
const MEMORY_ENTRIES = 1_024;

/**
 * Manifests and offset indexes of archived segments, fetched once from the cold store: kept in
 * memory (the most recently used) and on disk beside the chunks (`ChunkCache.keepIndexCopy`,
 * within the cache's budget), each index verified against the manifest's CRC32C and SHA-256
 * whenever it is loaded.
 */
export class IndexCache {
  readonly #entries = new Map<string, SharedLoad<RemoteSegment>>();
  /** Archived `.txnindex` entries, by segment (fetched only for a fetch that needs them). */
  readonly #aborted = new Map<string, SharedLoad<AbortedTransaction[]>>();

  constructor(
    /** Where verified index copies are kept on disk, within the cache's budget. */
    private readonly chunks: ChunkCache,
    private readonly store: ColdStore,
    private readonly counters: RemoteReadCounters,
  ) {}

  get(segmentPath: string, signal?: AbortSignal): Promise<RemoteSegment> {
    const load = remembered(this.#entries, segmentPath, (shared) => this.#load(segmentPath, shared));
    return load.join(signal, (reason) => aborted(this.store.backend, objectKeyOf(segmentPath, 'index'), reason));
  }

  /** Forgets a segment (restored, evicted again, or re-archived): its next read loads afresh. */
  forget(segmentPath: string): void {
    this.#entries.delete(segmentPath);
    this.#aborted.delete(segmentPath);
  }

  /**
   * The aborted transactions in an archived segment's `.txnindex` (none when its manifest lists
   * no such file), fetched once and verified against the manifest's checksums.
   */
  abortedTransactions(segmentPath: string, signal?: AbortSignal): Promise<AbortedTransaction[]> {
    const load = remembered(this.#aborted, segmentPath, (shared) => this.#loadAborted(segmentPath, shared));
    return load.join(signal, (reason) => aborted(this.store.backend, objectKeyOf(segmentPath, 'txnindex'), reason));
  }

  async #loadAborted(segmentPath: string, signal?: AbortSignal): Promise<AbortedTransaction[]> {
    const { manifest } = await this.get(segmentPath, signal);
    const file = manifest.files.txnindex;
    if (file === undefined) return [];
    const bytes = this.#requireVerified(segmentPath, 'txnindex', file, await this.#fetch(file.key, signal));
    return parseTransactionIndex(bytes, file.key);
  }

  async #load(segmentPath: string, signal?: AbortSignal): Promise<RemoteSegment> {
    const key = objectKeyOf(segmentPath, 'index');
    // The index's key follows from the path, so it is read (from disk, else the cold store)
    // beside the manifest rather than after it, and checked once the manifest is in.
    const fromStore = async () => ({ bytes: await this.#fetch(key, signal), fromStore: true });
    const [manifest, first] = await Promise.all([
      requireManifest(this.store, segmentPath, signal),
      this.chunks.readIndexCopy(segmentPath).then((bytes) => (bytes === undefined ? fromStore() : { bytes: bytes as Buffer | undefined, fromStore: false })),
    ]);
    const file = manifest.files.index;
    if (file === undefined) {
      // A segment archived without its index: every read walks from the first batch.
      return { manifest, index: OffsetIndex.parse(Buffer.alloc(0), BigInt(manifest.baseOffset)) };
    }
    // A disk copy of another archive of this path does not match: fetch this one's.
    const { bytes, fromStore: fetched } = first.bytes !== undefined && matches(first.bytes, file) ? first : first.fromStore ? first : await fromStore();
    const verified = this.#requireVerified(segmentPath, 'index', file, bytes);
    if (fetched) await this.chunks.keepIndexCopy(segmentPath, verified);
    return { manifest, index: OffsetIndex.parse(verified, BigInt(manifest.baseOffset), file.key) };
  }

  /** `bytes` of one of the segment's files, there and matching its manifest entry; else `REMOTE_MISSING` or `REMOTE_CORRUPT`. */
  #requireVerified(segmentPath: string, extension: 'index' | 'txnindex', file: ManifestFile, bytes: Buffer | undefined): Buffer {
    const where = `the ${this.store.backend} cold store (key ${file.key})`;
    if (bytes === undefined) throw new TieringError('REMOTE_MISSING', `${segmentPath}: its .${extension} is missing from ${where}`, segmentPath);
    if (!matches(bytes, file)) throw new TieringError('REMOTE_CORRUPT', `${segmentPath}: its .${extension} in ${where} does not match its manifest's checksums`, segmentPath);
    return bytes;
  }

  /** The `.index` object's bytes, or undefined when there is none (not all segments have one). */
  async #fetch(key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    try {
      const body = await this.store.get(key, { signal });
      const parts: Buffer[] = [];
      for await (const part of body) parts.push(part as Buffer);
      const bytes = Buffer.concat(parts);
      this.counters.requests++;
      this.counters.indexFetches++;
      this.counters.fetchedBytes += bytes.length;
      return bytes;
    } catch (error) {
      if (error instanceof ColdStoreError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }
}

/**
 * The entry for `key`, loaded once (shared by concurrent readers) and kept among the
 * `MEMORY_ENTRIES` most recently used; a load that fails, or that every reader gave up on, is
 * forgotten, so the next call tries again.
 */
function remembered<T>(entries: Map<string, SharedLoad<T>>, key: string, load: (signal: AbortSignal) => Promise<T>): SharedLoad<T> {
  let entry = entries.get(key);
  if (entry && !entry.aborted) {
    entries.delete(key);
    entries.set(key, entry);
    return entry;
  }
  const created = new SharedLoad(load);
  created.done.catch(() => {
    if (entries.get(key) === created) entries.delete(key);
  });
  entry = created;
  entries.set(key, entry);
  for (const [oldest] of entries) {
    if (entries.size <= MEMORY_ENTRIES) break;
    entries.delete(oldest);
  }
  return entry;
}

function matches(bytes: Buffer, file: { size: number; crc32c: string; sha256: string }): boolean {
  if (bytes.length !== file.size) return false;
  const sums = checksumBytes(bytes);
  return sums.crc32c === file.crc32c && sums.sha256 === file.sha256;
}
