import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline as pipelineWithCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  alreadyExists,
  assertDeclaredChecksums,
  assertValidKey,
  assertValidMetadata,
  assertValidPrefix,
  checksumMismatch,
  ChecksumStream,
  invalidKey,
  resolveRange,
  syncDirectory,
  throwIfAborted,
  toReadable,
  type ColdStore,
  type ColdStoreCapabilities,
  type DeleteOptions,
  type GetOptions,
  type ListOptions,
  type ObjectDescription,
  type PutBody,
  type PutOptions,
} from '@takhin/core';
import type { FsConfig } from './config.js';
import { FS_BACKEND, mapFsError } from './errors.js';
import { FsLayout, RESERVED_DIR } from './fs-layout.js';
import { readSidecar, type Sidecar } from './sidecar.js';

/** Bytes the write stream buffers: the FS backend's "part". */
export const FS_WRITE_BUFFER_BYTES = 1024 * 1024;
/** Deletes run this many at a time. */
const DELETE_CONCURRENCY = 16;

/**
 * A cold store on a local (or mounted) filesystem: the embedded default. Objects are plain
 * files under `root`; puts are atomic (temp file, fsync, rename; `ifNoneMatch` through
 * `link`, which fails if the name exists, so two writers cannot both win). Keys cannot reach
 * outside root: key rules reject `..` and absolute paths, and folders are resolved through
 * symbolic links before use.
 *
 * One difference from object stores, inherent to filesystems: an object `a` and an object
 * `a/b` cannot both exist; such a put fails with `INVALID_KEY`.
 */
export class FsColdStore implements ColdStore {
  readonly backend = FS_BACKEND;
  readonly capabilities: ColdStoreCapabilities = {
    sha256OnHead: true,
    serverVerifiesCrc32c: false,
    maxKeyBytes: 1024,
    maxDeleteBatch: 1000,
  };
  readonly layout: FsLayout;

  constructor(readonly config: FsConfig) {
    this.layout = new FsLayout(config.root);
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectDescription> {
    this.#assertKey(key);
    assertValidMetadata(FS_BACKEND, options.metadata);
    throwIfAborted(options.signal, FS_BACKEND, key);
    const tmpObject = join(this.layout.tmpDir, randomUUID());
    const tmpSidecar = `${tmpObject}.json`;
    try {
      await this.layout.ensureRoot();
      const path = await this.layout.prepareParent(key).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTDIR' && error.code !== 'EEXIST') throw error;
        throw invalidKey(FS_BACKEND, key, 'an object already has the name of one of its folders on the filesystem');
      });
      const checksummer = new ChecksumStream(options.onProgress);
      // The body joins by callback, not awaited: a source that has stalled may never settle
      // once destroyed, and an abort must not wait for it.
      const hashed = pipelineWithCallback(toReadable(body), checksummer, () => {});
      // `flush` fsyncs the file before the stream closes.
      const file = createWriteStream(tmpObject, { flags: 'wx', flush: true, highWaterMark: FS_WRITE_BUFFER_BYTES });
      await pipeline(hashed, file, { signal: options.signal });

      const checksums = checksummer.checksums;
      assertDeclaredChecksums(FS_BACKEND, key, options.checksums, checksums);
      if (options.size !== undefined && options.size !== checksummer.bytes) {
        throw checksumMismatch(FS_BACKEND, key, `declared size ${options.size}, body had ${checksummer.bytes} bytes`);
      }

      const { ino } = await stat(tmpObject);
      const sidecar: Sidecar = { key, ino, size: checksummer.bytes, checksums, metadata: { ...options.metadata } };
      await writeFile(tmpSidecar, JSON.stringify(sidecar), { flush: true });
      throwIfAborted(options.signal, FS_BACKEND, key);

      await this.#publish(key, tmpObject, path, options.ifNoneMatch === true);
      const metaPath = this.layout.metaPath(key);
      await mkdir(dirname(metaPath), { recursive: true });
      await rename(tmpSidecar, metaPath);
      await syncDirectory(dirname(path));
      await syncDirectory(dirname(metaPath));
      return this.#describe(key, await lstat(path), sidecar);
    } catch (error) {
      await Promise.all([removeIfPresent(tmpObject), removeIfPresent(tmpSidecar)]);
      throw mapFsError(error, key, options.signal);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    this.#assertKey(key);
    throwIfAborted(options.signal, FS_BACKEND, key);
    const path = this.layout.objectPath(key);
    let handle;
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      // O_NOFOLLOW: a symbolic link planted as the object itself is refused, not followed.
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      const stats = await handle.stat();
      if (!stats.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOENT' });
      const range = options.range ? resolveRange(FS_BACKEND, key, options.range, stats.size) : undefined;
      const stream = handle.createReadStream({
        start: range?.start,
        end: range?.end,
        highWaterMark: FS_WRITE_BUFFER_BYTES,
        signal: options.signal,
      });
      handle = undefined; // the stream owns and closes it now
      return stream;
    } catch (error) {
      await handle?.close();
      if (isMissing(error)) await this.layout.assertRootReachable(key, error);
      throw this.#mapPathError(error, key, options.signal);
    }
  }

  async head(key: string): Promise<ObjectDescription | null> {
    this.#assertKey(key);
    const path = this.layout.objectPath(key);
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      const stats = await lstat(path);
      if (!stats.isFile()) return null;
      return this.#describe(key, stats, await readSidecar(this.layout.metaPath(key)));
    } catch (error) {
      if (!isMissing(error)) throw mapFsError(error, key);
      await this.layout.assertRootReachable(key, error);
      return null;
    }
  }

  async delete(keys: string | readonly string[], options: DeleteOptions = {}): Promise<void> {
    const all = typeof keys === 'string' ? [keys] : [...keys];
    for (const key of all) this.#assertKey(key);
    for (let i = 0; i < all.length; i += DELETE_CONCURRENCY) {
      throwIfAborted(options.signal, FS_BACKEND);
      await Promise.all(all.slice(i, i + DELETE_CONCURRENCY).map((key) => this.#deleteOne(key)));
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(FS_BACKEND, prefix, this.capabilities.maxKeyBytes);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const namePrefix = prefix.slice(slash + 1);
    const dir = dirKey === '' ? this.layout.root : this.layout.objectPath(dirKey);
    try {
      if (dirKey !== '') await this.layout.assertInsideRoot(prefix, dir);
    } catch (error) {
      if (!isMissing(error)) throw mapFsError(error, prefix);
      await this.layout.assertRootReachable(prefix, error);
      return;
    }
    yield* this.#walk(dir, namePrefix, options.signal);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /** Temp files of puts in progress (or interrupted by a crash) under the store's root. */
  async pendingWrites(): Promise<string[]> {
    try {
      return (await readdir(this.layout.tmpDir)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw mapFsError(error, undefined);
    }
  }

  #assertKey(key: string): void {
    assertValidKey(FS_BACKEND, key, this.capabilities.maxKeyBytes);
    this.layout.assertNotReserved(key);
  }

  /** Moves the finished temp file to its name: `link` when the name must be new, else `rename`. */
  async #publish(key: string, tmpObject: string, path: string, ifNoneMatch: boolean): Promise<void> {
    try {
      if (ifNoneMatch) {
        await link(tmpObject, path);
        await unlink(tmpObject);
      } else {
        await rename(tmpObject, path);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        const existing = await lstat(path);
        if (existing.isFile()) throw alreadyExists(FS_BACKEND, key, error);
      }
      if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
        throw invalidKey(FS_BACKEND, key, 'a folder of other objects already has this name on the filesystem');
      }
      throw error;
    }
  }

  async #deleteOne(key: string): Promise<void> {
    const path = this.layout.objectPath(key);
    try {
      await this.layout.assertInsideRoot(key, dirname(path));
      const stats = await lstat(path);
      if (stats.isFile() || stats.isSymbolicLink()) await unlink(path);
      await removeIfPresent(this.layout.metaPath(key));
      await this.#pruneEmptyParents(dirname(path));
    } catch (error) {
      if (!isMissing(error)) throw mapFsError(error, key);
      await this.layout.assertRootReachable(key, error);
    }
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
   * `/` for folders, so `a-c` comes before `a/b` exactly as object stores list them.
   */
  async *#walk(dir: string, namePrefix: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectDescription> {
    throwIfAborted(signal, FS_BACKEND);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (!isMissing(error)) throw mapFsError(error, undefined);
      await this.layout.assertRootReachable(undefined, error);
      return;
    }
    const atRoot = dir === this.layout.root;
    const sorted = entries
      .filter((e) => e.name.startsWith(namePrefix) && !(atRoot && e.name === RESERVED_DIR))
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ entry: e, sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const { entry } of sorted) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* this.#walk(path, '', signal);
        continue;
      }
      const key = this.layout.keyOf(path);
      try {
        yield this.#describe(key, await lstat(path), await readSidecar(this.layout.metaPath(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw mapFsError(error, key);
      }
    }
  }

  #describe(key: string, stats: Stats, sidecar: Sidecar | undefined): ObjectDescription {
    const current = sidecar !== undefined && sidecar.ino === stats.ino && sidecar.size === stats.size;
    return {
      key,
      size: stats.size,
      etag: `${stats.ino.toString(16)}-${Math.trunc(stats.mtimeMs).toString(16)}-${stats.size.toString(16)}`,
      lastModified: stats.mtime,
      checksums: current ? { ...sidecar.checksums } : {},
      metadata: current ? { ...sidecar.metadata } : {},
    };
  }

  #mapPathError(error: unknown, key: string, signal?: AbortSignal) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return invalidKey(FS_BACKEND, key, 'the object is a symbolic link');
    if (code === 'ENOTDIR' || code === 'EISDIR') return mapFsError(Object.assign(new Error(String(error)), { code: 'ENOENT' }), key);
    return mapFsError(error, key, signal);
  }
}

/** ENOENT or ENOTDIR: the path (or a folder on it) is not there. */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
}
