import { Readable } from 'node:stream';
import { ChecksumAccumulator, type Checksums } from '@takhin/core';

/**
 * Deterministic pseudo-random bytes generated on the fly (xorshift32), so tests can stream
 * objects far larger than they hold in memory and still know every byte's checksum.
 */
export function* patternedChunks(size: number, seed = 1, chunkSize = 256 * 1024): Generator<Buffer> {
  let state = seed >>> 0 || 1;
  for (let produced = 0; produced < size; ) {
    const length = Math.min(chunkSize, size - produced);
    const chunk = Buffer.allocUnsafe(length);
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chunk.writeUInt32LE(state >>> 0, i);
    }
    for (; i < length; i++) chunk[i] = (state >>> (8 * (i % 4))) & 0xff;
    produced += length;
    yield chunk;
  }
}

/** A stream of `size` patterned bytes. */
export function patternedStream(size: number, seed = 1, chunkSize?: number): Readable {
  return Readable.from(patternedChunks(size, seed, chunkSize), { objectMode: false });
}

/** All `size` patterned bytes in one buffer (for small objects and slicing ranges). */
export function patternedBytes(size: number, seed = 1): Buffer {
  return Buffer.concat([...patternedChunks(size, seed)], size);
}

/** The checksums of `patternedChunks(size, seed)`, computed without holding it in memory. */
export function patternedChecksums(size: number, seed = 1): Checksums {
  const accumulator = new ChecksumAccumulator();
  for (const chunk of patternedChunks(size, seed)) accumulator.update(chunk);
  return accumulator.digest();
}

/** Reads a stream to the end, returning its size and checksums (never all its bytes). */
export async function checksumStream(stream: AsyncIterable<Uint8Array>): Promise<{ size: number; checksums: Checksums }> {
  const accumulator = new ChecksumAccumulator();
  for await (const chunk of stream) accumulator.update(chunk);
  return { size: accumulator.bytes, checksums: accumulator.digest() };
}

/** Reads a (small) stream into one buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
