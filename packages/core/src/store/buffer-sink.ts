import type { BodySink } from '../contracts/cold-store.js';

/** A sink over one buffer: a body of at most its length lands in it, in place. */
export class BufferSink implements BodySink {
  #filled = 0;

  constructor(readonly buffer: Buffer) {}

  /** The bytes received so far. */
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.#filled);
  }

  space(): Uint8Array {
    if (this.#filled === this.buffer.byteLength) throw new RangeError(`the body is longer than the ${this.buffer.byteLength} bytes expected`);
    return this.buffer.subarray(this.#filled);
  }

  filled(bytes: number): void {
    this.#filled += bytes;
  }
}
