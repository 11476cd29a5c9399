import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import type { Checksums } from '../contracts/cold-store.js';
import { checksumMismatch } from '../errors/factories.js';
import { crc32cCombine } from './crc32c-combine.js';

/** The big-endian 4-byte form of a CRC32C value, base64-encoded (the cloud wire form). */
export function crc32cToBase64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
}

export function crc32cFromBase64(encoded: string): number {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== 4) throw new TypeError(`not a base64 CRC32C: ${JSON.stringify(encoded)}`);
  return bytes.readUInt32BE(0);
}

/**
 * The CRC32C of each consecutive `size`-byte slice of an object (the last may be shorter), in
 * the same base64 form as the whole-object one: what a ranged read verifies chunk by chunk.
 */
export interface ChunkChecksums {
  size: number;
  crc32c: string[];
}

export interface ChecksumAccumulatorOptions {
  /** Also keep the CRC32C of every `chunkSize`-byte slice (see `chunks()`). */
  chunkSize?: number | undefined;
  /**
   * `false`: SHA-256 alone (`digests()` then has no CRC32C). For bytes checked against a known
   * SHA-256 whose CRC32C was recorded with it: a match vouches for that CRC32C too, and CRC32C
   * is about a quarter of the two digests' CPU (docs/ARCHITECTURE.md, "The worker pool").
   */
  crc32c?: boolean | undefined;
}

/** What an accumulator computed: SHA-256 always, CRC32C unless it was left out. */
export type Digests = Pick<Checksums, 'sha256'> & Partial<Pick<Checksums, 'crc32c'>>;

const noCrc = () => {};

/**
 * Bytes SHA-256 and then CRC32C take before the next ones: CRC32C reads a slice while SHA-256
 * has just brought it into the core's cache. A 4 MiB batch hashed whole by one digest, then the
 * other, costs about half as much again on this machine's VM (docs/ARCHITECTURE.md, "The worker pool").
 */
const HASH_SLICE = 64 * 1024;

/**
 * CRC32C and SHA-256 over a byte sequence fed in pieces: one pass, both digests, and, with
 * `chunkSize`, the CRC32C of every chunk too. Each byte is hashed once: wider CRCs are combined
 * from narrower ones (see crc32c-combine.ts). CRC32C is native (`@node-rs/crc32`, ~8 GB/s),
 * SHA-256 is OpenSSL (~1.2–2 GB/s). A piece is hashed `HASH_SLICE` bytes at a time, both
 * digests in turn (docs/ARCHITECTURE.md, "The worker pool").
 */
export class ChecksumAccumulator {
  /** CRC32C of every byte so far, except those of an open chunk when chunking. */
  #crc = 0;
  #sha: Hash = createHash('sha256');
  #bytes = 0;
  #digest: Digests | undefined;
  readonly #chunkSize: number | undefined;
  readonly #withCrc: boolean;
  readonly #chunks: string[] = [];
  #chunkCrc = 0;
  #chunkFill = 0;

  constructor(options: ChecksumAccumulatorOptions = {}) {
    const { chunkSize, crc32c: withCrc = true } = options;
    if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
    if (chunkSize !== undefined && !withCrc) throw new RangeError('chunkSize needs CRC32C: chunk checksums are CRC32Cs');
    this.#chunkSize = chunkSize;
    this.#withCrc = withCrc;
  }

  /** Hashes the next bytes. */
  update(chunk: Uint8Array): void {
    if (!this.#withCrc) this.#hash(chunk, noCrc);
    else if (this.#chunkSize === undefined) this.#hash(chunk, (slice) => (this.#crc = crc32c(slice, this.#crc)));
    else this.#hash(chunk, (slice) => this.#eachChunkSlice(slice, (piece) => (this.#chunkCrc = crc32c(piece, this.#chunkCrc))));
  }

  /**
   * Hashes the next bytes as one part of a multipart write and returns the part's own CRC32C
   * (what S3 checks per part), computed in the same pass.
   */
  updatePart(part: Uint8Array): number {
    if (!this.#withCrc) throw new Error('ChecksumAccumulator without CRC32C has no part CRC32C');
    let partCrc = 0;
    if (this.#chunkSize === undefined) {
      this.#hash(part, (slice) => (partCrc = crc32c(slice, partCrc)));
      this.#crc = crc32cCombine(this.#crc, partCrc, part.byteLength);
      return partCrc;
    }
    this.#hash(part, (slice) =>
      this.#eachChunkSlice(slice, (piece) => {
        const pieceCrc = crc32c(piece);
        partCrc = crc32cCombine(partCrc, pieceCrc, piece.byteLength);
        this.#chunkCrc = crc32cCombine(this.#chunkCrc, pieceCrc, piece.byteLength);
      }),
    );
    return partCrc;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The CRC32C so far, as a number; usable before `digest()`. */
  get crc32cValue(): number {
    if (!this.#withCrc) throw new Error('ChecksumAccumulator without CRC32C has no CRC32C value');
    return (this.#chunkFill === 0 ? this.#crc : crc32cCombine(this.#crc, this.#chunkCrc, this.#chunkFill)) >>> 0;
  }

  /** Finishes both digests; idempotent. Only for an accumulator with CRC32C (the default). */
  digest(): Checksums {
    const digests = this.digests();
    if (digests.crc32c === undefined) throw new Error('ChecksumAccumulator without CRC32C: use digests()');
    return digests as Checksums; // the same object on every call, as before `digests()`
  }

  /** Finishes the digests computed (`crc32c: false` leaves CRC32C out); idempotent. */
  digests(): Digests {
    if (this.#digest === undefined) {
      if (this.#chunkFill > 0) this.#closeChunk();
      const sha256 = this.#sha.digest('hex');
      this.#digest = this.#withCrc ? { crc32c: crc32cToBase64(this.#crc), sha256 } : { sha256 };
    }
    return this.#digest;
  }

  /** The per-chunk CRC32Cs, once digested; `undefined` without `chunkSize`. */
  chunks(): ChunkChecksums | undefined {
    if (this.#chunkSize === undefined) return undefined;
    this.digest();
    return { size: this.#chunkSize, crc32c: [...this.#chunks] };
  }

  /** Feeds `chunk` to SHA-256 and to `crc` (each CRC32C kept) one `HASH_SLICE` at a time. */
  #hash(chunk: Uint8Array, crc: (slice: Buffer) => void): void {
    if (this.#digest) throw new Error('ChecksumAccumulator already digested');
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let offset = 0; offset < buffer.byteLength; offset += HASH_SLICE) {
      const slice = buffer.subarray(offset, offset + HASH_SLICE);
      this.#sha.update(slice);
      crc(slice);
    }
    this.#bytes += buffer.byteLength;
  }

  /** Calls `hash` on the slices of `buffer` that fall in one chunk each, closing full chunks. */
  #eachChunkSlice(buffer: Buffer, hash: (slice: Buffer) => void): void {
    const chunkSize = this.#chunkSize!;
    for (let offset = 0; offset < buffer.byteLength; ) {
      const take = Math.min(chunkSize - this.#chunkFill, buffer.byteLength - offset);
      hash(buffer.subarray(offset, offset + take));
      this.#chunkFill += take;
      offset += take;
      if (this.#chunkFill === chunkSize) this.#closeChunk();
    }
  }

  #closeChunk(): void {
    this.#chunks.push(crc32cToBase64(this.#chunkCrc));
    this.#crc = crc32cCombine(this.#crc, this.#chunkCrc, this.#chunkFill);
    this.#chunkCrc = 0;
    this.#chunkFill = 0;
  }
}

/** Checksums of an in-memory byte array. */
export function checksumBytes(bytes: Uint8Array): Checksums {
  const accumulator = new ChecksumAccumulator();
  accumulator.update(bytes);
  return accumulator.digest();
}

/**
 * A pass-through stream that checksums what flows through it and reports progress.
 * `checksums` is available once the stream has ended.
 */
export class ChecksumStream extends Transform {
  readonly accumulator: ChecksumAccumulator;
  readonly #onProgress: ((bytes: number) => void) | undefined;

  constructor(options: ((bytes: number) => void) | (ChecksumAccumulatorOptions & { onProgress?: ((bytes: number) => void) | undefined }) = {}) {
    super();
    const { onProgress, ...accumulatorOptions } = typeof options === 'function' ? { onProgress: options } : options;
    this.accumulator = new ChecksumAccumulator(accumulatorOptions);
    this.#onProgress = onProgress;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.accumulator.update(chunk);
    this.#onProgress?.(this.accumulator.bytes);
    callback(null, chunk);
  }

  get bytes(): number {
    return this.accumulator.bytes;
  }

  get checksums(): Checksums {
    return this.accumulator.digest();
  }
}

/**
 * Names what differs between `declared` and `actual` (only the checksums the caller declared
 * count), or `undefined` when everything declared matches.
 */
export function describeChecksumMismatch(declared: Partial<Checksums> | undefined, actual: Checksums): string | undefined {
  const differences: string[] = [];
  if (declared?.crc32c !== undefined && declared.crc32c !== actual.crc32c) {
    differences.push(`crc32c declared ${declared.crc32c}, bytes have ${actual.crc32c}`);
  }
  if (declared?.sha256 !== undefined && declared.sha256.toLowerCase() !== actual.sha256) {
    differences.push(`sha256 declared ${declared.sha256}, bytes have ${actual.sha256}`);
  }
  return differences.length > 0 ? differences.join('; ') : undefined;
}

/** Throws `CHECKSUM_MISMATCH` naming each difference unless the declared checksums match. */
export function assertDeclaredChecksums(backend: string, key: string, declared: Partial<Checksums> | undefined, actual: Checksums): void {
  const mismatch = describeChecksumMismatch(declared, actual);
  if (mismatch !== undefined) throw checksumMismatch(backend, key, mismatch);
}
