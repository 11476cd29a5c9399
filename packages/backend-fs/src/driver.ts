import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, rm, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { blockSpan, createWritableFile, DIRECT_BLOCK, finishDirect, isAlignedView, resolveRange, throwIfAborted, writeBytes, type BodySink, type ColdStoreDriver, type ColdStoreError, type DriverFeatures, type DriverLimits, type ErrorContext, type ListPage, type ListRequest, type MultipartCompletion, type MultipartStart, type MultipartUpload, type ObjectRead, type ObjectRequest, type ObjectWrite, type OpenedObject, type OpenUpload, type PartWrite, type StoredObject, type UploadedPart, type WritableFile, type WriteReceipt } from '@takhin/core';
import type { FsConfig } from './config.js';
import { FS_BACKEND, isMissing, mapFsError } from './errors.js';
import { FsLayout, RESERVED_DIR } from './fs-layout.js';
import { etagOf, FsPublisher, removeIfPresent, withTempFile } from './fs-publish.js';
import { describesCopyOf, describesFile, readSidecar, type Sidecar } from './sidecar.js';

/** Bytes per part (a write of the temp file at its offset); the FS backend's memory unit. */
export const FS_WRITE_BUFFER_BYTES = 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
const DEFAULT_PAGE_SIZE = 1000;

/** A multipart write into a temp file, one positional write per part (O_DIRECT where the filesystem takes it). */
interface FsUpload extends MultipartUpload {
  file?: WritableFile | undefined;
}

/**
 * The filesystem driver. Objects are plain files under `root`; a put writes a temp file
 * (fsynced), writes the version's sidecar, then renames the file into place (`link` when it
 * must be new, which fails if the name exists, so two create-only writers cannot both win) and
 * fsyncs the folders. Each version's sidecar is named by the file's inode, so concurrent
 * overwrites of one key each keep their own, and whichever file wins, head finds its sidecar.
 * A put whose folder a concurrent delete pruned makes it again. Keys cannot reach outside
 * root: folders are resolved through symbolic links before use, and an object that is a link
 * is refused. One difference from object stores, inherent to filesystems: objects `a` and
 * `a/b` cannot both exist (`INVALID_KEY`).
 */
export class FsDriver implements ColdStoreDriver<FsUpload> {
  readonly backend = FS_BACKEND;
  readonly limits: DriverLimits = { maxNameBytes: 1024, partSize: FS_WRITE_BUFFER_BYTES, partsInFlight: PARTS_IN_FLIGHT };
  readonly features: DriverFeatures = { sha256OnHead: true, serverVerifiesCrc32c: false, conditionalWrites: 'native' };
  readonly layout: FsLayout;
  readonly #publisher: FsPublisher;

  constructor(readonly config: FsConfig) {
    this.layout = new FsLayout(config.root);
    this.#publisher = new FsPublisher(this.layout);
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    await this.layout.ensureRoot();
    const temp = this.layout.tempPath();
    return withTempFile(temp, async () => {
      // `wx`: never reuse someone else's file; `flush`: fsync before the file is closed.
      await writeFile(temp, write.body, { flag: 'wx', flush: true });
      return this.#publisher.publish(write, temp, { size: write.body.byteLength, checksums: write.checksums });
    });
  }

  async createMultipart(start: MultipartStart): Promise<FsUpload> {
    await this.layout.ensureRoot();
    const temp = this.layout.tempPath();
    return { key: start.key, name: start.name, id: basename(temp), file: await createWritableFile(temp) };
  }

  async uploadPart({ upload, number, body, crc32c }: PartWrite<FsUpload>): Promise<UploadedPart> {
    // Positional writes: parts in flight land at their own offsets (whole blocks), in any order.
    await writeBytes(upload.file!, body, (number - 1) * this.limits.partSize);
    return { number, crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, size, checksums, metadata, ifNoneMatch }: MultipartCompletion<FsUpload>): Promise<WriteReceipt> {
    const temp = join(this.layout.tmpDir, upload.id);
    return withTempFile(temp, async () => {
      await finishDirect(upload.file!, size);
      await upload.file!.file.sync();
      await upload.file!.file.close();
      upload.file = undefined;
      return this.#publisher.publish({ key: upload.key, name: upload.name, metadata, ifNoneMatch }, temp, { size, checksums });
    });
  }

  async abortMultipart(upload: FsUpload): Promise<void> {
    await upload.file?.file.close().catch(() => {});
    upload.file = undefined;
    await removeIfPresent(join(this.layout.tmpDir, upload.id));
  }

  async getObject(read: ObjectRead): Promise<OpenedObject> {
    const { handle, size, slice } = await this.#openForRead(read);
    // Each read allocates a buffer this large: never more than the bytes read (docs/ARCHITECTURE.md, "Backends").
    const highWaterMark = Math.max(1, Math.min(FS_WRITE_BUFFER_BYTES, slice ? slice.length : size));
    const body = handle.createReadStream({ start: slice?.start, end: slice?.end, highWaterMark }); // owns and closes the handle
    return slice
      ? { body, status: 206, contentRange: `bytes ${slice.start}-${slice.end}/${size}`, contentLength: slice.length }
      : { body, status: 200, contentLength: size };
  }

  /**
   * Reads the file (or the slice) with positional reads straight into the sink's memory: with
   * O_DIRECT when that memory is aligned (a download's batch buffers) and the read starts on a
   * block, so a file not in the page cache is not copied through it either.
   */
  async readInto(read: ObjectRead, sink: BodySink): Promise<void> {
    const direct = isAlignedView(sink.space()) && (read.range?.offset ?? 0) % DIRECT_BLOCK === 0;
    const { handle, size, slice, direct: opened } = await this.#openForRead(read, direct);
    try {
      let position = slice?.start ?? 0;
      const end = slice ? slice.end + 1 : size;
      while (position < end) {
        throwIfAborted(read.signal, FS_BACKEND, read.key);
        const space = sink.space();
        const wanted = Math.min(space.byteLength, end - position);
        if (opened && !isAlignedView(space)) throw new Error('the sink lent memory off a block boundary to an O_DIRECT read');
        // O_DIRECT reads whole blocks: what lies past `end` lands in the lent space but is not counted.
        const { bytesRead } = await handle.read(space, 0, opened ? Math.min(space.byteLength, blockSpan(wanted)) : wanted, position);
        if (bytesRead === 0) throw Object.assign(new Error(`the file ended at byte ${position} of ${end}: it was truncated while read`), { code: 'ESHORT' });
        const counted = Math.min(bytesRead, wanted);
        position += counted;
        await sink.filled(counted);
      }
    } finally {
      await handle.close();
    }
  }

  /** Opens an object's file for a read of `range`, which it resolves against the file's size; with O_DIRECT if asked and the filesystem takes it. */
  async #openForRead(
    { key, name, range, signal }: ObjectRead,
    direct = false,
  ): Promise<{ handle: FileHandle; size: number; slice: ReturnType<typeof resolveRange> | undefined; direct: boolean }> {
    throwIfAborted(signal, FS_BACKEND, key);
    const path = this.layout.objectPath(name);
    let handle: FileHandle | undefined;
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      // O_NOFOLLOW: a symbolic link planted as the object itself is refused, not followed.
      // O_NONBLOCK: a FIFO planted as the object opens at once (and is refused below as no
      // file) instead of holding a libuv thread in open(2) until a writer comes; four such
      // gets stopped every file operation of the process. Reads of a regular file ignore it.
      const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
      if (direct && constants.O_DIRECT !== undefined) {
        handle = await open(path, flags | constants.O_DIRECT).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EINVAL') return undefined; // the filesystem refuses O_DIRECT: read through the page cache
          throw error;
        });
      }
      const opened = handle !== undefined;
      handle ??= await open(path, flags);
      const stats = await handle.stat();
      if (!stats.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOENT' });
      return { handle, size: stats.size, slice: range ? resolveRange(FS_BACKEND, key, range, stats.size) : undefined, direct: opened };
    } catch (error) {
      await handle?.close();
      throw await this.#lookupFailure(error, key);
    }
  }

  async headObject({ key, name }: ObjectRequest): Promise<StoredObject | null> {
    const path = this.layout.objectPath(name);
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      const stats = await lstat(path);
      if (!stats.isFile()) return null;
      return this.#describe(name, stats, await this.#sidecarOf(name, stats));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.layout.assertRootReachable(key, error);
      return null;
    }
  }

  async listPage({ key, prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const slash = prefix.lastIndexOf('/');
    const dirName = slash < 0 ? '' : prefix.slice(0, slash);
    const dir = dirName === '' ? this.layout.root : this.layout.objectPath(dirName);
    try {
      if (dirName !== '') await this.layout.assertInsideRoot(key, dir);
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.layout.assertRootReachable(key, error);
      return { objects: [] };
    }
    const limit = pageSize ?? DEFAULT_PAGE_SIZE;
    const objects: StoredObject[] = [];
    for await (const object of this.#walk(dir, prefix.slice(slash + 1), cursor, signal)) {
      objects.push(object);
      if (objects.length === limit) return { objects, cursor: object.name };
    }
    return { objects };
  }

  async deleteObject({ key, name }: ObjectRequest): Promise<void> {
    const path = this.layout.objectPath(name);
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      const stats = await lstat(path);
      if (stats.isFile() || stats.isSymbolicLink()) await unlink(path);
      await rm(this.layout.sidecarDir(name), { recursive: true, force: true });
      await this.#pruneEmptyParents(dirname(path));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.layout.assertRootReachable(key, error);
    }
  }

  /** Temp files of puts in progress (or interrupted by a crash) under the store's root. */
  async listOpenUploads(): Promise<OpenUpload[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.tmpDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const uploads: OpenUpload[] = [];
    for (const id of names.sort()) {
      const stats = await stat(join(this.layout.tmpDir, id)).catch(() => undefined);
      if (stats) uploads.push({ key: '', name: '', id, startedAt: stats.mtime });
    }
    return uploads;
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return mapFsError(error, context);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }


  /** Removes folders left empty by a delete, up to (not including) root. */
  async #pruneEmptyParents(dir: string): Promise<void> {
    for (let current = dir; current.startsWith(this.layout.root) && current !== this.layout.root; current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): nothing above it is empty either
      }
    }
  }

  /**
   * Depth-first over one folder at a time, in key order: each entry sorts as its name, plus
   * `/` for folders, so `a-c` comes before `a/b` exactly as object stores list them. Keys up
   * to `after` (a page's cursor) are passed over, and whole folders below it are not read.
   */
  async *#walk(dir: string, namePrefix: string, after: string | undefined, signal: AbortSignal | undefined): AsyncGenerator<StoredObject> {
    throwIfAborted(signal, FS_BACKEND);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.layout.assertRootReachable(undefined, error);
      return;
    }
    const atRoot = dir === this.layout.root;
    const sorted = entries
      .filter((e) => e.name.startsWith(namePrefix) && !(atRoot && e.name === RESERVED_DIR))
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ entry: e, sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    const afterBytes = after === undefined ? undefined : Buffer.from(after);
    for (const { entry } of sorted) {
      const path = join(dir, entry.name);
      const key = this.layout.keyOf(path);
      if (entry.isDirectory()) {
        const folder = Buffer.from(`${key}/`);
        // Every key in the folder starts with `folder`: all after the cursor, or all before it.
        if (afterBytes && !after!.startsWith(`${key}/`) && Buffer.compare(folder, afterBytes) < 0) continue;
        yield* this.#walk(path, '', after, signal);
        continue;
      }
      if (afterBytes && Buffer.compare(Buffer.from(key), afterBytes) <= 0) continue;
      try {
        const stats = await lstat(path);
        yield this.#describe(key, stats, await this.#sidecarOf(key, stats));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }

  /**
   * The sidecar of the object file `stats` are of: the one named by its inode, or else, in a store
   * copied with its times (every inode new), the one sidecar of the key that matches the file
   * but for the inode. Two such (a crash left an older version's with the same size and time)
   * vouch for nothing.
   */
  async #sidecarOf(name: string, stats: Stats): Promise<Sidecar | undefined> {
    const own = await readSidecar(this.layout.sidecarPath(name, stats.ino));
    if (describesFile(own, name, stats)) return own;
    const dir = this.layout.sidecarDir(name);
    const entries = (await readdir(dir).catch(() => [] as string[])).filter((entry) => entry.endsWith('.json') && entry !== `${stats.ino}.json`);
    const copies = (await Promise.all(entries.map((entry) => readSidecar(join(dir, entry))))).filter((sidecar) => describesCopyOf(sidecar, name, stats));
    return copies.length === 1 ? { ...copies[0]!, ino: stats.ino } : undefined;
  }

  #describe(name: string, stats: Stats, sidecar: Sidecar | undefined): StoredObject {
    const current = describesFile(sidecar, name, stats);
    return {
      name,
      size: stats.size,
      etag: etagOf(stats.ino, stats.mtimeMs, stats.size),
      lastModified: stats.mtime,
      checksums: current ? { ...sidecar.checksums } : {},
      metadata: current ? { ...sidecar.metadata } : {},
    };
  }

  /** A failed open of an object: missing, in a folder that is a file, a link, outside root, or the root gone. */
  async #lookupFailure(error: unknown, key: string): Promise<unknown> {
    const code = (error as NodeJS.ErrnoException).code;
    if (isMissing(error)) await this.layout.assertRootReachable(key, error);
    if (code === 'ENOTDIR' || code === 'EISDIR') return Object.assign(new Error(String(error)), { code: 'ENOENT' });
    return error;
  }
}
