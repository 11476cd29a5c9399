/** The first `length` bytes of `into`, as a `Buffer` over the same memory (nothing copied). */
export function viewOf(into: Uint8Array, length: number): Buffer {
  return Buffer.from(into.buffer, into.byteOffset, length);
}

/** A `ByteRangeReader`'s `into`, when given, holds the `length` bytes asked for. */
export function assertIntoFits(into: Uint8Array | undefined, length: number): void {
  if (into !== undefined && into.byteLength < length) throw new RangeError(`into holds ${into.byteLength} bytes, fewer than the ${length} asked for`);
}
