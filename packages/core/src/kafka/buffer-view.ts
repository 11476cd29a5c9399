/** The first `length` bytes of `into`, as a `Buffer` over the same memory (nothing copied). */
export function viewOf(into: Uint8Array, length: number): Buffer {
  return Buffer.from(into.buffer, into.byteOffset, length);
}
