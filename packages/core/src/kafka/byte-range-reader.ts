import { open, type FileHandle } from 'node:fs/promises';
import { assertIntoFits, viewOf } from './buffer-view.js';

/**
 * Reads `length` bytes of a segment starting at byte `position`. It returns exactly `length`
 * bytes, or fewer only where the data ends (nothing at or past the end). Local files, ranged
 * GETs on a cold store and a chunk cache all fit behind this one function.
 *
 * `into`, when given, is at least `length` bytes long: the bytes go to its start and what is
 * returned is a view of it, so nothing is allocated for them (a caller reusing one buffer read
 * after read spares the collector; docs/ARCHITECTURE.md, "Remote reads"). Every reader here
 * honours it.
 */
export type ByteRangeReader = (position: number, length: number, into?: Uint8Array) => Promise<Buffer>;

/** A `ByteRangeReader` over one local file, with the size it had when opened. */
export interface FileRangeReader {
  read: ByteRangeReader;
  /** The file's size at open: reads stop here, as a Kafka fetch stops at the size it saw. */
  size: number;
  close(): Promise<void>;
}

/** Opens `path` for ranged reads; the caller closes it. */
export async function openFileRangeReader(path: string): Promise<FileRangeReader> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const read: ByteRangeReader = async (position, length, into) => {
      assertRange(position, length, into);
      // Never allocate past the end: a corrupt length field must not cost gigabytes.
      const want = Math.max(0, Math.min(length, size - position));
      const buffer = into ? viewOf(into, want) : Buffer.allocUnsafe(want);
      const filled = await readFully(handle, buffer, position); // fewer: the file shrank since open
      return filled === want ? buffer : buffer.subarray(0, filled);
    };
    return { read, size, close: () => handle.close() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads the file from `position` into all of `target`, or up to its end; returns the bytes read. */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < target.byteLength) {
    const { bytesRead } = await handle.read(target, filled, target.byteLength - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** A `ByteRangeReader` over bytes already in memory (a fetched chunk, a test's batch). */
export function bufferRangeReader(bytes: Buffer): ByteRangeReader {
  return async (position, length, into) => {
    assertRange(position, length, into);
    const range = bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length));
    if (!into) return range;
    into.set(range);
    return viewOf(into, range.length);
  };
}

function assertRange(position: number, length: number, into?: Uint8Array): void {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`position must be a non-negative integer, got ${position}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
  assertIntoFits(into, length);
}
