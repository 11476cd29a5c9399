import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { crc32cToBase64 } from '../checksums/checksums.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted } from '../errors/factories.js';
import { TieringError } from '../errors/tiering-error.js';
import { BufferSink } from '../store/buffer-sink.js';
import { readIntoSink } from '../store/copy-into.js';
import { readFully } from '../kafka/byte-range-reader.js';
import type { ManifestFile, SegmentManifest } from '../tiered/segment-manifest.js';
import { ChunkBuffers } from './chunk-buffers.js';
import type { RemoteReadCounters } from './remote-read-counters.js';
import { SharedLoad } from './shared-load.js';

/** One chunk of an archived `.log`: which segment (and which archive of it), and which slice. */
export interface ChunkAddress {
  readonly manifest: SegmentManifest;
  readonly index: number;
}

/** Chunks kept in memory besides the disk cache (at the default 4 MiB, 32 MiB). */
const RECENT_CHUNKS = 8;

interface CachedChunk {
  readonly path: string;
  readonly size: number;
}

/**
 * Fixed-size chunks of archived `.log` files on local disk, under `cache.dir` (with a copy of
 * each read segment's offset index, counted and evicted the same way): fetched from the
 * cold store by ranged GETs, verified against the CRC32C the manifest recorded for each chunk
 * at archive time (again every time one is read from disk), and evicted least recently used
 * first when the chunks plus restored segments exceed `local.cache.size.mb`. Concurrent readers
 * of one chunk share one fetch, stopped only once all of them have aborted. A chunk never
 * reaches a caller unverified.
 *
 * Chunk memory is reused (`ChunkBuffers`): a caller reads chunks only inside `reading`, and
 * copies out whatever it keeps past it.
 */
export class ChunkCache {
  /** Least recently used first: a Map keeps insertion order, and a hit moves its key to the end. */
  readonly #chunks = new Map<string, CachedChunk>();
  readonly #fetching = new Map<string, SharedLoad<Buffer>>();
  /** The last few chunks served, verified and in memory: a reader moving through one chunk reads no disk. */
  readonly #recent = new Map<string, Buffer>();
  /** Chunks being written to disk in the background. */
  readonly #writing = new Set<Promise<void>>();
  readonly #buffers = new ChunkBuffers();
  #bytes = 0;
  #loaded: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly store: ColdStore,
    /** Bytes the chunks may occupy now: the budget less what restored segments hold. */
    private readonly capacity: () => number,
    private readonly counters: RemoteReadCounters,
  ) {}

  /** Bytes on disk: chunks and offset index copies. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Chunks on disk (the offset index copies beside them count in `bytes` only). */
  get chunks(): number {
    let chunks = 0;
    for (const name of this.#chunks.keys()) if (!name.endsWith('.index')) chunks++;
    return chunks;
  }

  /**
   * Runs `read`, inside which `read` may be called: the chunks it returns stay the chunks they
   * are until `read` settles, and no longer (their memory is reused for later fetches). Copy out
   * whatever outlives it.
   */
  async reading<T>(read: () => Promise<T>): Promise<T> {
    const ticket = this.#buffers.enter();
    try {
      return await read();
    } finally {
      this.#buffers.leave(ticket);
    }
  }

  /**
   * The verified bytes of one chunk: from disk when cached, else fetched (once for all callers).
   * Only inside `reading`, and only until it settles.
   */
  async read(address: ChunkAddress, signal?: AbortSignal): Promise<Buffer> {
    await (this.#loaded ??= this.#loadExisting());
    const name = chunkName(address);
    const recent = this.#recent.get(name);
    if (recent) {
      this.counters.hits++;
      return recent;
    }
    const cached = this.#chunks.get(name);
    if (cached) {
      const bytes = await this.#readFromDisk(cached.path, address);
      if (bytes !== undefined && verify(address, bytes) === undefined) {
        this.#chunks.delete(name);
        this.#chunks.set(name, cached);
        this.#remember(name, bytes);
        this.counters.hits++;
        return bytes;
      }
      // Gone or rotted on disk: forget it and fetch it again.
      await this.#forget(name);
    }
    this.counters.misses++;
    return this.#shared(address, name).join(signal, (reason) => aborted(this.store.backend, address.manifest.files.log.key, reason));
  }

  /**
   * The copy of an archived segment's `.index` kept beside its chunks (the caller verifies it
   * against its manifest), or undefined when none is on disk. It counts against the budget and
   * is evicted with the chunks, least recently used first.
   */
  async readIndexCopy(segmentPath: string): Promise<Buffer | undefined> {
    await (this.#loaded ??= this.#loadExisting());
    const name = indexCopyName(segmentPath);
    const kept = this.#chunks.get(name);
    if (!kept) return undefined;
    const bytes = await readFile(kept.path).catch(() => undefined);
    if (bytes === undefined) {
      await this.#forget(name);
      return undefined;
    }
    this.#chunks.delete(name);
    this.#chunks.set(name, kept);
    return bytes;
  }

  /** Keeps a verified `.index` on disk, if the budget holds it (see `readIndexCopy`); resolves once it is written. */
  keepIndexCopy(segmentPath: string, bytes: Buffer): Promise<void> {
    return this.#keep(indexCopyName(segmentPath), bytes);
  }

  /** Fetches a chunk in the background (a sequential reader's next one); failures only count. */
  prefetch(address: ChunkAddress): void {
    const name = chunkName(address);
    if (this.#recent.has(name) || this.#chunks.has(name) || this.#fetching.has(name)) return;
    this.counters.prefetches++;
    this.#shared(address, name)
      .join(undefined, () => new Error('unreachable: a prefetch has no signal'))
      .catch(() => this.counters.prefetchFailures++);
  }

  /** The fetch of a chunk under way, joined; else a new one (the last was stopped: its readers all aborted). */
  #shared(address: ChunkAddress, name: string): SharedLoad<Buffer> {
    let fetching = this.#fetching.get(name);
    if (!fetching || fetching.aborted) {
      // A fetched chunk leaves `#fetching` as it enters `#recent`, in one step: once `#recent`
      // lets it go, no read starting later can join the fetch and reach its memory.
      const load: SharedLoad<Buffer> = new SharedLoad((signal) =>
        this.#fetch(address, name, signal, () => {
          if (this.#fetching.get(name) === load) this.#fetching.delete(name);
        }),
      );
      void load.done.catch(() => {}).finally(() => {
        if (this.#fetching.get(name) === load) this.#fetching.delete(name);
      });
      this.#fetching.set(name, load);
      fetching = load;
    }
    return fetching;
  }

  /** Resolves once every chunk being fetched or written has settled (before closing). */
  async idle(): Promise<void> {
    await Promise.allSettled([...[...this.#fetching.values()].map((fetching) => fetching.done), ...this.#writing]);
    await Promise.allSettled([...this.#writing]);
  }

  /** Deletes every chunk of archives of `segmentPath` (its segment was restored, or is gone). */
  async dropSegment(segmentPath: string): Promise<void> {
    const prefix = `${segmentPath.replace(/\.log$/, '')}.`;
    for (const name of [...this.#chunks.keys(), ...this.#recent.keys()]) if (name.startsWith(prefix)) void this.#forget(name);
  }

  async #fetch(address: ChunkAddress, name: string, signal: AbortSignal | undefined, fetched: () => void): Promise<Buffer> {
    const file = address.manifest.files.log;
    const { size, offset, length } = spanOf(address);
    // A failed fetch's buffer is not reused: a store stopped mid-body might still write to it.
    let bytes: Buffer;
    try {
      bytes = await readRange(this.store, file.key, { offset, length }, this.#buffers.take(size).subarray(0, length), signal);
    } catch (error) {
      if (error instanceof ColdStoreError && error.code === 'NOT_FOUND') {
        throw new TieringError('REMOTE_MISSING', `${address.manifest.segment}: its .log is missing from the ${this.store.backend} cold store (key ${file.key})`, address.manifest.segment, { cause: error });
      }
      // A range the manifest's size allows but the object does not: the object was cut short.
      if (error instanceof ColdStoreError && error.code === 'INVALID_RANGE') {
        throw new TieringError(
          'REMOTE_CORRUPT',
          `${address.manifest.segment}: its .log in the ${this.store.backend} cold store (key ${file.key}) is shorter than the ${file.size} bytes its manifest records: chunk ${address.index} (bytes ${offset}–${offset + length - 1}) starts at or past its end`,
          address.manifest.segment,
          { cause: error },
        );
      }
      throw error;
    }
    this.counters.requests++;
    this.counters.fetchedBytes += bytes.length;
    const problem = bytes.length === length ? verify(address, bytes) : `${bytes.length} bytes, expected ${length}`;
    if (problem !== undefined) {
      throw new TieringError(
        'REMOTE_CORRUPT',
        `${address.manifest.segment}: chunk ${address.index} of its .log in the ${this.store.backend} cold store (key ${file.key}, bytes ${offset}–${offset + length - 1}) is corrupt: ${problem}`,
        address.manifest.segment,
      );
    }
    fetched();
    this.#remember(name, bytes);
    // To disk in the background: the reader has its verified bytes now.
    void this.#keep(name, bytes);
    return bytes;
  }

  /** A chunk file's bytes, read into a chunk buffer; undefined when it is gone or not the chunk's size. */
  async #readFromDisk(path: string, address: ChunkAddress): Promise<Buffer | undefined> {
    const { size, length } = spanOf(address);
    const handle = await open(path, 'r').catch(() => undefined);
    if (handle === undefined) return undefined;
    try {
      if ((await handle.stat()).size !== length) return undefined;
      const bytes = this.#buffers.take(size).subarray(0, length);
      return (await readFully(handle, bytes, 0)) === length ? bytes : undefined;
    } catch {
      return undefined;
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /**
   * Writes `bytes` to disk; a cache too small to keep them keeps none (it would only write and
   * delete). A failed write only means a fetch next time.
   */
  #keep(name: string, bytes: Buffer): Promise<void> {
    if (this.capacity() < bytes.length) return Promise.resolve();
    this.#buffers.hold(bytes);
    const writing = this.#store(name, bytes)
      .catch(() => {})
      .finally(() => this.#buffers.release(bytes));
    this.#writing.add(writing);
    void writing.finally(() => this.#writing.delete(writing));
    return writing;
  }

  #remember(name: string, bytes: Buffer): void {
    this.#buffers.hold(bytes);
    this.#dropRecent(name);
    this.#recent.set(name, bytes);
    if (this.#recent.size > RECENT_CHUNKS) this.#dropRecent(this.#recent.keys().next().value!);
  }

  #dropRecent(name: string): void {
    const bytes = this.#recent.get(name);
    if (bytes === undefined) return;
    this.#recent.delete(name);
    this.#buffers.release(bytes);
  }

  /** Writes a verified chunk to disk (temp name, then rename) and evicts to stay in budget. */
  async #store(name: string, bytes: Buffer): Promise<void> {
    const path = join(this.dir, ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    // No fsync: a chunk lost in a crash is fetched again, and every read re-verifies it.
    await writeFile(temp, bytes);
    await rename(temp, path);
    // Written again (fetched again while its first write was under way): it replaces the one counted.
    this.#bytes += bytes.length - (this.#chunks.get(name)?.size ?? 0);
    this.#chunks.delete(name);
    this.#chunks.set(name, { path, size: bytes.length });
    await this.#trim(name);
  }

  /** Evicts least recently used chunks (never `keep`, the one just stored) until the chunks fit the budget. */
  #trim(keep?: string): Promise<void> {
    const capacity = Math.max(0, this.capacity());
    const deletes: Promise<void>[] = [];
    for (const [oldest] of this.#chunks) {
      if (this.#bytes <= capacity || oldest === keep) break;
      deletes.push(this.#forget(oldest));
      this.counters.evictions++;
    }
    return Promise.all(deletes).then(() => {});
  }

  /** Drops a chunk from memory and from the count at once; resolves once its file is deleted. */
  #forget(name: string): Promise<void> {
    this.#dropRecent(name);
    const chunk = this.#chunks.get(name);
    if (!chunk) return Promise.resolve();
    this.#chunks.delete(name);
    this.#bytes -= chunk.size;
    return unlink(chunk.path).catch(() => {});
  }

  /**
   * Chunks a previous run left are reused (each is verified again when read), as many as the
   * budget holds now (it may have shrunk since), the most recently written kept; stray temps go.
   */
  async #loadExisting(): Promise<void> {
    const files = await readdir(this.dir, { recursive: true, withFileTypes: true }).catch(() => []);
    const found: { name: string; path: string; size: number; mtimeMs: number }[] = [];
    for (const entry of files) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      if (entry.name.endsWith('.tmp')) {
        await rm(path, { force: true });
        continue;
      }
      const stats = await stat(path).catch(() => undefined);
      if (stats) found.push({ name: relative(this.dir, path).split(sep).join('/'), path, size: stats.size, mtimeMs: stats.mtimeMs });
    }
    for (const chunk of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      this.#chunks.set(chunk.name, { path: chunk.path, size: chunk.size });
      this.#bytes += chunk.size;
    }
    await this.#trim();
  }
}

/** The chunk checksums of an archive, or `REMOTE_CORRUPT` for a manifest that has none. */
export function requireChunks(manifest: SegmentManifest): NonNullable<ManifestFile['chunks']> {
  const chunks = manifest.files.log.chunks;
  if (chunks === undefined || chunks.size <= 0 || chunks.crc32c.length !== Math.ceil(manifest.files.log.size / chunks.size)) {
    throw new TieringError('REMOTE_CORRUPT', `${manifest.segment}: its manifest records no usable chunk checksums, so it cannot be read in ranges; restore it instead`, manifest.segment);
  }
  return chunks;
}

/** Where a chunk lies in its `.log`: the chunk size, and its own offset and length (the last one may be shorter). */
function spanOf({ manifest, index }: ChunkAddress): { size: number; offset: number; length: number } {
  const { size } = requireChunks(manifest);
  const offset = index * size;
  return { size, offset, length: Math.min(size, manifest.files.log.size - offset) };
}

/** `<topic>-<partition>/<base>.<digest>/<chunk size>-<index>`: a chunk of one specific archive. */
function chunkName({ manifest, index }: ChunkAddress): string {
  const digest = manifest.digest.slice('sha256:'.length, 'sha256:'.length + 16);
  return `${manifest.segment.replace(/\.log$/, '')}.${digest}/${requireChunks(manifest).size}-${index}`;
}

/** `<topic>-<partition>/<base>.index`: the offset index copy of whichever archive of the segment was read last. */
function indexCopyName(segmentPath: string): string {
  return `${segmentPath.replace(/\.log$/, '')}.index`;
}

/** Why `bytes` are not the chunk the manifest recorded, or undefined when they are. */
function verify({ manifest, index }: ChunkAddress, bytes: Buffer): string | undefined {
  const expected = requireChunks(manifest).crc32c[index];
  const actual = crc32cToBase64(crc32c(bytes));
  return actual === expected ? undefined : `CRC32C ${actual}, expected ${expected ?? '(none recorded)'}`;
}

/** The bytes of a range, read into `into` (its length): in place where the store can (`readInto`), else copied from `get`. */
async function readRange(store: ColdStore, key: string, range: { offset: number; length: number }, into: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const sink = new BufferSink(into);
  await readIntoSink(store, key, sink, { range, signal });
  return sink.bytes;
}
