import { createHash, randomUUID } from 'node:crypto';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { invalidKey, RESERVED_KEY_SEGMENT, unavailable } from '@takhin/core';
import { FS_BACKEND } from './errors.js';

/** The folder under `root` the store keeps for itself; core refuses keys under it. */
export const RESERVED_DIR = RESERVED_KEY_SEGMENT;

/**
 * Where things live under `root`: objects at `<root>/<key>` (so operators see plain files),
 * and beside them, under `.takhin/`, temp files that become objects by rename, and each
 * object's sidecar, in a folder named by the key's hash (no key can collide with it) and a file
 * named by the object file's inode (so concurrent writers of one key never share a sidecar).
 */
export class FsLayout {
  /** The configured root, absolute and normalised: folders are compared with it as strings (pruning stops at it). */
  readonly root: string;
  readonly metaDir: string;
  readonly tmpDir: string;
  #realRoot: Promise<string> | undefined;

  constructor(root: string) {
    // `./cold` or `a/../cold` as given never equals a `join`ed path, so emptied folders were never pruned.
    this.root = resolve(root);
    this.metaDir = join(this.root, RESERVED_DIR, 'meta');
    this.tmpDir = join(this.root, RESERVED_DIR, 'tmp');
  }

  objectPath(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /** The folder holding the sidecars of `key`'s versions. */
  sidecarDir(key: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    return join(this.metaDir, hash.slice(0, 2), hash);
  }

  /** The sidecar of the version of `key` whose file has inode `ino`. */
  sidecarPath(key: string, ino: number): string {
    return join(this.sidecarDir(key), `${ino}.json`);
  }

  /** A new temp file's path: a put's body, or a sidecar on its way into place. */
  tempPath(): string {
    return join(this.tmpDir, randomUUID());
  }

  /** The key of a path under root (`/` separators). */
  keyOf(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  /** Creates the root's own folders; idempotent. */
  async ensureRoot(): Promise<void> {
    await makeFolders(this.tmpDir);
    await makeFolders(this.metaDir);
  }

  /**
   * Makes the key's parent folders and proves, after symlinks are resolved, that they are
   * inside root: a symlinked folder cannot carry a key outside.
   */
  async prepareParent(key: string): Promise<string> {
    const path = this.objectPath(key);
    try {
      await makeFolders(dirname(path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR' && code !== 'EEXIST') throw error;
      throw invalidKey(FS_BACKEND, key, 'an object already has the name of one of its folders on the filesystem');
    }
    await this.assertInsideRoot(key, dirname(path));
    return path;
  }

  /** Throws `INVALID_KEY` if `dir` (an existing folder) resolves outside root. */
  async assertInsideRoot(key: string, dir: string): Promise<void> {
    // A root that does not exist yet must be looked up again later, not remembered as missing.
    this.#realRoot ??= realpath(this.root).catch((error: unknown) => {
      this.#realRoot = undefined;
      throw error;
    });
    const [realRoot, realDir] = await Promise.all([this.#realRoot, realpath(dir)]);
    if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
      throw invalidKey(FS_BACKEND, key, 'the key resolves outside the store root (through a symbolic link)');
    }
  }

  /**
   * After a lookup failed with ENOENT or ENOTDIR: a root that does not exist yet is an empty
   * store, but a root that cannot exist (a file in its path) or cannot be read is `UNAVAILABLE`.
   */
  async assertRootReachable(key: string | undefined, cause: unknown): Promise<void> {
    try {
      if ((await stat(this.root)).isDirectory()) return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    }
    throw unavailable(FS_BACKEND, key, `the store root ${this.root} is not a usable folder`, cause);
  }
}

/**
 * `mkdir -p` that reports why a folder could not be made. Node's recursive mkdir answers
 * `ENOENT` when a folder on the path cannot be created on a read-only filesystem (it reads the
 * failed folder's absence, not the refusal), which would reach the caller as `NOT_FOUND`: the
 * folders are then made one at a time from the nearest existing one, so the refusal itself
 * (`EROFS`, `EACCES`, `ENOTDIR`) is what fails, naming the folder (docs/ARCHITECTURE.md, "Errors").
 */
export async function makeFolders(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const missing: string[] = [];
  // Bounded by the path's depth: each step goes one folder up, and `/` is its own parent.
  for (let current = dir; ; current = dirname(current)) {
    try {
      await stat(current);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw error;
      missing.push(current);
    }
  }
  for (const folder of missing.reverse()) {
    await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error; // made meanwhile by a concurrent put
    });
  }
}
