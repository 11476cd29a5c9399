import { link, lstat, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { alreadyExists, invalidKey, syncDirectory, type WriteReceipt } from '@takhin/core';
import { FS_BACKEND, isMissing } from './errors.js';
import { makeFolders, type FsLayout } from './fs-layout.js';
import { readSidecar, type Sidecar } from './sidecar.js';

/** A racing delete can prune a folder between a put's mkdir and its rename; that many tries. */
const PLACE_ATTEMPTS = 16;
/** Sidecars of replaced versions are removed once this old (a live writer's is younger). */
const STALE_SIDECAR_MS = 60_000;

/**
 * The last step of every FS put (docs/ARCHITECTURE.md, "Backends"): a finished, fsynced temp
 * file becomes the object's new version, with its sidecar. Puts and deletes of the same key may
 * run meanwhile, in this process or another, so each step expects them: a folder pruned under
 * it is made again, a sidecar removed under it written again, and only sidecars too old to be a
 * live writer's are removed.
 */
export class FsPublisher {
  constructor(private readonly layout: FsLayout) {}

  /**
   * Makes a finished temp file the object: its sidecar first (so whichever version wins the
   * name, its sidecar is already there), then the file into place, then the folders fsynced.
   */
  async publish(
    write: { key: string; name: string; metadata: Record<string, string>; ifNoneMatch: boolean },
    temp: string,
    content: { size: number; checksums: Sidecar['checksums'] },
  ): Promise<WriteReceipt> {
    const { key, name } = write;
    const { ino, mtimeMs, mtime } = await stat(temp);
    const sidecar: Sidecar = { key: name, ino, size: content.size, mtimeMs, checksums: content.checksums, metadata: { ...write.metadata } };
    await this.#writeSidecar(name, sidecar);
    const path = await this.#place(key, name, temp, write.ifNoneMatch);
    // A delete of this key running meanwhile may have removed the sidecar folder.
    if (!(await readSidecar(this.layout.sidecarPath(name, ino)))) await this.#writeSidecar(name, sidecar);
    await this.#removeStaleSidecars(name, ino);
    await syncDirectory(dirname(path));
    await syncDirectory(this.layout.sidecarDir(name));
    return { lastModified: mtime, etag: etagOf(ino, mtimeMs, content.size) };
  }

  /** Renames (or links) the temp file to the object's name, making its folder again if a delete pruned it. */
  async #place(key: string, name: string, temp: string, ifNoneMatch: boolean): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const path = this.layout.objectPath(name);
      try {
        await this.layout.prepareParent(name);
        if (ifNoneMatch) {
          await link(temp, path);
          await unlink(temp);
        } else {
          await rename(temp, path);
        }
        return path;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt < PLACE_ATTEMPTS) continue;
        if (code === 'EEXIST' && (await lstat(path)).isFile()) throw alreadyExists(FS_BACKEND, key, error);
        if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
          throw invalidKey(FS_BACKEND, key, 'a folder of other objects already has this name on the filesystem');
        }
        throw error;
      }
    }
  }

  async #writeSidecar(name: string, sidecar: Sidecar): Promise<void> {
    const temp = `${this.layout.tempPath()}.json`;
    await withTempFile(temp, async () => {
      await writeFile(temp, JSON.stringify(sidecar), { flag: 'wx', flush: true });
      for (let attempt = 1; ; attempt++) {
        await makeFolders(this.layout.sidecarDir(name));
        try {
          await rename(temp, this.layout.sidecarPath(name, sidecar.ino));
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= PLACE_ATTEMPTS) throw error;
        }
      }
    });
  }

  /** Sidecars of versions this one replaced; only old ones, so a writer still at work keeps its own. */
  async #removeStaleSidecars(name: string, currentIno: number): Promise<void> {
    const dir = this.layout.sidecarDir(name);
    const entries = await readdir(dir).catch(() => [] as string[]);
    const cutoff = Date.now() - STALE_SIDECAR_MS;
    for (const entry of entries) {
      if (entry === `${currentIno}.json`) continue;
      const path = join(dir, entry);
      const stats = await stat(path).catch(() => undefined);
      if (stats && stats.mtimeMs < cutoff) await removeIfPresent(path);
    }
  }
}

/** An object file's etag: its inode, mtime and size, which a rename keeps and a new version changes. */
export function etagOf(ino: number, mtimeMs: number, size: number): string {
  return `${ino.toString(16)}-${Math.trunc(mtimeMs).toString(16)}-${size.toString(16)}`;
}

/**
 * Runs `work`, which turns `temp` into something else or fails, then removes whatever is left of
 * `temp`. A failure of that cleanup never replaces what `work` answered: on a read-only
 * filesystem the unlink fails too (EROFS), and its error named the temp file's unlink instead of
 * the write that failed.
 */
export async function withTempFile<T>(temp: string, work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await removeIfPresent(temp).catch(() => {});
    throw error;
  }
  await removeIfPresent(temp).catch(() => {}); // a landed put reports success (docs/ARCHITECTURE.md, "The ColdStore contract")
  return result;
}

export async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
}
