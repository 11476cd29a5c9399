import type { Readable } from 'node:stream';
import { ChecksumAccumulator, crc32cToBase64 } from '../checksums/checksums.js';
import type { PutBody } from '../contracts/cold-store.js';
import { aborted, bodyFailure, sizeMismatch } from '../errors/factories.js';
import { toReadable } from '../streams/put-body.js';
import { isDirectBody, type DirectBody } from './direct-body.js';
import type { PartBuffers, WholeBodyBuffers } from './part-buffers.js';

/** One part of a body: its bytes, number (from 1), CRC32C, and whether it is the last. */
export interface BodyPart {
  body: Buffer;
  number: number;
  crc32c: string;
  last: boolean;
  /** The pooled buffer `body` lies in, to hand back once the part is sent. */
  buffer?: Buffer | undefined;
}

export interface PartReaderOptions {
  backend: string;
  key: string;
  partSize: number;
  buffers: PartBuffers;
  /** Where a whole direct body's buffer comes from (and goes back to at `close`). */
  wholeBodies?: WholeBodyBuffers | undefined;
  digest: ChecksumAccumulator;
  /** The size the caller declared: a body that runs past it, or ends before it, fails here. */
  declaredSize?: number | undefined;
  /**
   * A direct body whose declared size is at most this is read whole into one buffer of its
   * size, as one part: one request instead of a multipart write. At most the put's memory
   * bound, so the bound holds; `partSize - 1` (the default) turns it off.
   */
  wholeBodyMax?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number) => void) | undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a put's body once, as parts of exactly `partSize` bytes (the last may be shorter), and
 * hashes each part as it is cut, so every byte is hashed once. It reads one source chunk ahead
 * to know whether a part is the last. A small body is gathered from the source's own chunks
 * (no part-sized buffer; a byte array is not copied at all); parts are copied into reused part
 * buffers. A body that can read itself into a buffer (a local file, with its size declared) is
 * read straight into them: no chunks, no copies, no garbage. An abort stops it at once, even
 * on a stalled source.
 */
export class PartReader {
  readonly #options: PartReaderOptions;
  readonly #source: Readable;
  readonly #chunks: AsyncIterator<unknown>;
  readonly #direct: DirectBody | undefined;
  #pending: Buffer | undefined;
  /** The whole direct body's buffer, lent by `wholeBodies` until `close`. */
  #whole: Buffer | undefined;
  #read = 0;
  #numbered = 0;
  #done = false;

  constructor(body: PutBody, options: PartReaderOptions) {
    this.#options = options;
    this.#direct = isDirectBody(body) && options.declaredSize !== undefined ? body : undefined;
    this.#source = toReadable(body);
    this.#chunks = this.#source[Symbol.asyncIterator]();
  }

  /** Body bytes read so far. */
  get bytesRead(): number {
    return this.#read;
  }

  /** The next part; the first call always returns one (an empty body is one empty last part). */
  async next(): Promise<BodyPart | undefined> {
    if (this.#done) return undefined;
    const number = ++this.#numbered;
    const { body, buffer } = this.#direct ? await this.#fillDirect(number, this.#direct) : await this.#fillFromChunks(number);
    // A direct body is always read to its end, where it checks it was not changed meanwhile.
    const last = (!this.#direct && body.byteLength < this.#options.partSize) || !(await this.#more());
    if (last) this.#finish();
    const crc32c = crc32cToBase64(this.#options.digest.updatePart(body));
    return { body, number, crc32c, last, buffer };
  }

  /** A part from the source's chunks: gathered as they are while it may be a small body, else copied into a part buffer. */
  async #fillFromChunks(number: number): Promise<{ body: Buffer; buffer?: Buffer | undefined }> {
    const { partSize, buffers } = this.#options;
    if (number === 1) {
      const pieces: Buffer[] = [];
      let filled = 0;
      while (filled < partSize) {
        const chunk = await this.#pull();
        if (!chunk) break;
        filled += this.#take(chunk, partSize - filled, (piece) => pieces.push(piece));
      }
      if (pieces.length <= 1) return { body: pieces[0] ?? EMPTY };
      if (filled < partSize) return { body: Buffer.concat(pieces, filled) };
      const buffer = buffers.acquire();
      pieces.reduce((at, piece) => at + piece.copy(buffer, at), 0);
      return { body: buffer, buffer };
    }
    const buffer = buffers.acquire();
    let filled = 0;
    while (filled < partSize) {
      const chunk = await this.#pull();
      if (!chunk) break;
      const at = filled;
      filled += this.#take(chunk, partSize - filled, (piece) => piece.copy(buffer, at));
    }
    return { body: filled === partSize ? buffer : buffer.subarray(0, filled), buffer };
  }

  /** A part read straight from a direct body; a body smaller than a part, or up to `wholeBodyMax`, gets a buffer of its size. */
  async #fillDirect(number: number, direct: DirectBody): Promise<{ body: Buffer; buffer?: Buffer | undefined }> {
    const { partSize, buffers, declaredSize = 0, backend, key, signal, wholeBodyMax = partSize - 1, wholeBodies } = this.#options;
    const small = number === 1 && (declaredSize < partSize || declaredSize <= wholeBodyMax);
    if (small && wholeBodies) this.#whole = wholeBodies.acquire(declaredSize);
    const buffer = small ? (this.#whole?.subarray(0, declaredSize) ?? Buffer.allocUnsafe(declaredSize)) : buffers.acquire();
    let filled = 0;
    while (filled < buffer.byteLength) {
      if (signal?.aborted) throw aborted(backend, key, signal.reason);
      const read = await this.#readDirect(direct, buffer, filled, buffer.byteLength - filled);
      if (read === 0) break;
      filled += read;
    }
    const body = filled === buffer.byteLength ? buffer : buffer.subarray(0, filled);
    return small ? { body } : { body, buffer };
  }

  async #readDirect(direct: DirectBody, target: Buffer, offset: number, length: number): Promise<number> {
    const { backend, key, declaredSize } = this.#options;
    let read: number;
    try {
      read = await direct.readInto(target, offset, length);
    } catch (error) {
      throw bodyFailure(backend, key, error);
    }
    this.#read += read;
    if (declaredSize !== undefined && this.#read > declaredSize) throw sizeMismatch(backend, key, declaredSize, this.#read);
    if (read > 0) this.#options.onProgress?.(this.#read);
    return read;
  }

  /** The parts after `first`, for the multipart upload. */
  async *rest(first: BodyPart): AsyncGenerator<BodyPart> {
    yield first;
    for (let part = await this.next(); part; part = await this.next()) yield part;
  }

  /** Hands a part's buffer back for the next part, once its request has settled. */
  release(buffer: Buffer): void {
    this.#options.buffers.release(buffer);
  }

  /** Stops reading and destroys the source (a failed or finished put). */
  close(): void {
    this.#done = true;
    this.#source.destroy();
    if (this.#whole) this.#options.wholeBodies!.release(this.#whole);
    this.#whole = undefined;
  }

  /** Takes up to `room` bytes of `chunk`, keeping the rest for the next part. */
  #take(chunk: Buffer, room: number, store: (piece: Buffer) => void): number {
    const taken = Math.min(room, chunk.byteLength);
    store(taken === chunk.byteLength ? chunk : chunk.subarray(0, taken));
    if (taken < chunk.byteLength) this.#pending = chunk.subarray(taken);
    return taken;
  }

  /**
   * Whether more bytes follow: a chunk read ahead (kept for the next part), or for a direct
   * body, its declared size not yet reached, else a one-byte read that must find the end.
   */
  async #more(): Promise<boolean> {
    if (this.#direct) {
      if (this.#read < this.#options.declaredSize!) return true;
      return (await this.#readDirect(this.#direct, Buffer.alloc(1), 0, 1)) > 0;
    }
    if (this.#pending) return true;
    const chunk = await this.#pull();
    if (chunk) this.#pending = chunk;
    return chunk !== undefined;
  }

  /** The body's size is known now: it must be what the caller declared. */
  #finish(): void {
    this.#done = true;
    const { declaredSize, backend, key } = this.#options;
    if (declaredSize !== undefined && this.#read !== declaredSize) throw sizeMismatch(backend, key, declaredSize, this.#read);
  }

  /** The next non-empty chunk of the source, or `undefined` at its end. */
  async #pull(): Promise<Buffer | undefined> {
    if (this.#pending) {
      const chunk = this.#pending;
      this.#pending = undefined;
      return chunk;
    }
    const { backend, key, signal, declaredSize } = this.#options;
    for (;;) {
      let step: IteratorResult<unknown> | undefined;
      try {
        step = await nextUnlessAborted(this.#chunks, signal);
      } catch (error) {
        throw signal?.aborted ? aborted(backend, key, signal.reason) : bodyFailure(backend, key, error);
      }
      if (step === undefined) throw aborted(backend, key, signal?.reason);
      if (step.done) return undefined;
      const chunk = asBuffer(step.value);
      if (chunk === undefined) throw bodyFailure(backend, key, new TypeError(`a put body must yield bytes (Uint8Array), got ${typeof step.value}`));
      if (chunk.byteLength === 0) continue;
      this.#read += chunk.byteLength;
      if (declaredSize !== undefined && this.#read > declaredSize) throw sizeMismatch(backend, key, declaredSize, this.#read);
      this.#options.onProgress?.(this.#read);
      return chunk;
    }
  }
}

function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * The source's next chunk, or `undefined` once `signal` fires, so a source that never yields
 * cannot hang the put. (Not `Promise.race` against one long-lived promise: each race would
 * stay attached to it, and with it every chunk ever read.)
 */
function nextUnlessAborted<V>(iterator: AsyncIterator<V>, signal: AbortSignal | undefined): Promise<IteratorResult<V> | undefined> {
  if (!signal) return iterator.next();
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
