/**
 * Regroups a byte stream into parts of exactly `partSize` bytes (the last may be shorter; an
 * empty source yields nothing). Memory: one part being filled, plus what the consumer holds.
 * Multipart uploaders (S3 parts, Azure blocks, GCS resumable chunks) share this.
 */
export async function* fixedSizeChunks(source: AsyncIterable<Uint8Array>, partSize: number): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new RangeError(`partSize must be a positive integer, got ${partSize}`);
  let part = Buffer.allocUnsafe(partSize);
  let filled = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(partSize - filled, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === partSize) {
        yield part;
        part = Buffer.allocUnsafe(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}
