import { constants, fsyncSync, ftruncateSync, write } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';

// Writing files past the page cache (O_DIRECT), for downloads and the fs backend's objects
// (docs/ARCHITECTURE.md, "The worker pool"): the disk reads the writer's own memory, so no
// page-cache page is allocated or copied into, and the final fsync has nothing to write back.

/**
 * O_DIRECT's rule: memory, file offsets and lengths in whole blocks. 4 KiB covers every logical
 * block size Linux filesystems use on ordinary disks.
 */
export const DIRECT_BLOCK = 4096;
const WASM_PAGE = 64 * 1024;

/** The one WebAssembly API used here (the project's `lib` has no DOM types). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => { readonly buffer: SharedArrayBuffer };
};

/**
 * Memory another thread can share. `aligned` when it starts on a page, as O_DIRECT needs: a
 * WebAssembly memory is mapped by pages (`Buffer.allocUnsafeSlow` and `new SharedArrayBuffer`
 * are not aligned). Where there is no WebAssembly (`node --jitless`), it is a plain shared
 * buffer and not aligned.
 */
export interface SharedBuffer {
  readonly memory: SharedArrayBuffer;
  readonly bytes: Buffer;
  readonly aligned: boolean;
}

/** The aligned memories `sharedBuffer` made, so a reader can tell a view of one (`isAlignedView`). */
const alignedMemories = new WeakSet<ArrayBufferLike>();

export function sharedBuffer(bytes: number): SharedBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  try {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
    alignedMemories.add(memory);
    return { memory, bytes: Buffer.from(memory, 0, bytes), aligned: true };
  } catch {
    const memory = new SharedArrayBuffer(bytes);
    return { memory, bytes: Buffer.from(memory), aligned: false };
  }
}

/** Whether `view` is whole blocks of aligned memory (from `sharedBuffer`): something O_DIRECT can read into or write from. */
export function isAlignedView(view: Uint8Array): boolean {
  return alignedMemories.has(view.buffer) && view.byteOffset % DIRECT_BLOCK === 0 && view.byteLength % DIRECT_BLOCK === 0 && view.byteLength > 0;
}

const writeOnce = (fd: number, bytes: Uint8Array, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, bytes, 0, bytes.byteLength, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes every byte of `bytes` at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
export async function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const written = await writeOnce(fd, bytes.subarray(done), position + done);
    if (written === 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += written;
  }
}

const isEinval = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === 'EINVAL';

/** One aligned block of zeros: what a new file's O_DIRECT probe writes. */
let probeBlock: SharedBuffer | undefined;

/** A file being written, and whether with O_DIRECT (see `writeBytes`). */
export interface WritableFile {
  readonly file: FileHandle;
  readonly direct: boolean;
}

/**
 * Creates `path` (never someone else's file: `O_EXCL`) for writing, with O_DIRECT where the
 * filesystem takes it (proven by writing one aligned block at 0; ramfs refuses it at `open`) and
 * `direct` is not false; else buffered. A direct file holds at least one block until it is
 * written over: truncate it to its size before its fsync (`finishDirect`).
 */
export async function createWritableFile(path: string, direct = true): Promise<WritableFile> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_DIRECT } = constants;
  probeBlock ??= sharedBuffer(DIRECT_BLOCK);
  if (O_DIRECT === undefined || !direct || !probeBlock.aligned) return { file: await open(path, 'wx'), direct: false };
  let file: FileHandle;
  try {
    file = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT, 0o666);
  } catch (error) {
    if (!isEinval(error)) throw error;
    // Not EEXIST, so whatever is at `path` now was created by this open before the filesystem
    // refused O_DIRECT (ramfs does that).
    await unlink(path).catch(() => {});
    return { file: await open(path, 'wx'), direct: false };
  }
  try {
    await writeAt(file.fd, probeBlock.bytes, 0);
    return { file, direct: true };
  } catch (error) {
    await file.close();
    if (!isEinval(error)) {
      await unlink(path).catch(() => {});
      throw error;
    }
    return { file: await open(path, 'r+'), direct: false }; // the file is ours: created above
  }
}

/** Whole blocks covering `length` bytes. */
export const blockSpan = (length: number) => Math.ceil(length / DIRECT_BLOCK) * DIRECT_BLOCK;

/**
 * A download's writes to its file, each straight from the caller's (aligned) memory, and the
 * ones not yet settled: the file is closed only after them, since its descriptor number may
 * otherwise be reused, by a socket too, while a write still holds it.
 */
export class FileWrites {
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly target: WritableFile) {}

  /**
   * Writes the first `length` bytes of `bytes` at `position`. With O_DIRECT the last block is
   * padded with zeros in `bytes` itself (room for it is the caller's), cut off again by
   * `finishDirect`.
   */
  write(bytes: Uint8Array, length: number, position: number): Promise<void> {
    const span = this.target.direct ? blockSpan(length) : length;
    bytes.fill(0, length, span);
    const written = writeAt(this.target.file.fd, bytes.subarray(0, span), position);
    const settled = written.then(
      () => void this.#pending.delete(settled),
      () => void this.#pending.delete(settled),
    );
    this.#pending.add(settled);
    return written;
  }

  /** Settles once every write made so far has. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#pending);
  }
}

/** Aligned memory a caller's bytes are copied through for O_DIRECT, kept for the next writes. */
const STAGING_BYTES = 1024 * 1024;
const STAGING_KEPT = 8;
const staging: SharedBuffer[] = [];

/**
 * Writes `bytes` at `position` of `target`. With O_DIRECT, `position` must be a whole number of
 * blocks; the bytes are copied through aligned staging memory (one memcpy, far cheaper than
 * filling page-cache pages) and a last partial block is padded with zeros, cut off again by
 * `finishDirect`. Buffered, they are written as they are.
 */
export async function writeBytes(target: WritableFile, bytes: Uint8Array, position: number): Promise<void> {
  const fd = target.file.fd;
  if (!target.direct) return writeAt(fd, bytes, position);
  if (position % DIRECT_BLOCK !== 0) throw new RangeError(`an O_DIRECT write must start on a ${DIRECT_BLOCK}-byte block, not at byte ${position}`);
  const stage = staging.pop() ?? sharedBuffer(STAGING_BYTES);
  try {
    for (let done = 0; done < bytes.byteLength; ) {
      const length = Math.min(STAGING_BYTES, bytes.byteLength - done);
      stage.bytes.set(bytes.subarray(done, done + length));
      const span = blockSpan(length);
      stage.bytes.fill(0, length, span);
      await writeAt(fd, stage.bytes.subarray(0, span), position + done);
      done += length;
    }
  } finally {
    if (staging.length < STAGING_KEPT) staging.push(stage);
  }
}

/** Cuts a direct file back to its `size` (the last block's padding, or the probe's block); nothing for a buffered one. */
export async function finishDirect(target: WritableFile, size: number): Promise<void> {
  if (target.direct) await target.file.truncate(size);
}

/**
 * A download's last writes: `finishDirect`, then the fsync that vouches for the file. On the
 * calling thread, blocking it (`onThisThread`: a pool worker, see `syncOnThisThread`), or through
 * libuv's threadpool. The descriptor stays the FileHandle's: only the calls are made here.
 */
export async function finishAndSync(target: WritableFile, size: number, onThisThread: boolean): Promise<void> {
  if (onThisThread) {
    if (target.direct) ftruncateSync(target.file.fd, size);
    fsyncSync(target.file.fd);
  } else {
    await finishDirect(target, size);
    await target.file.sync();
  }
}
