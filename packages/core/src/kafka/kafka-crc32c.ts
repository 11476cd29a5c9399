import { crc32c } from '@node-rs/crc32';

/**
 * CRC-32C (Castagnoli) as Kafka's `Crc32C.compute` returns it, unsigned: the checksum of v2
 * record batches and of producer state snapshots.
 */
export function kafkaCrc32c(bytes: Uint8Array): number {
  return crc32c(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) >>> 0;
}
