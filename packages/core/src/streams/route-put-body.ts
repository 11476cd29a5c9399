import { addAbortSignal, pipeline } from 'node:stream';
import { ChecksumStream } from '../checksums/checksums.js';
import type { Checksums, PutBody } from '../contracts/cold-store.js';
import { fixedSizeChunks } from './fixed-size-chunks.js';
import { prependPart } from './bounded-part-uploads.js';
import { toReadable } from './put-body.js';

/** The running digest of a body being streamed; complete once the parts are consumed. */
export interface StreamedDigest {
  readonly bytes: number;
  readonly checksums: Checksums;
}

export interface PutBodyWriters<T> {
  /** The whole body, shorter than one part, with its checksums. */
  single(bytes: Buffer, checksums: Checksums): Promise<T>;
  /** The body as parts of exactly `partSize` (the last may be shorter); `digest` is final once they are consumed. */
  multipart(parts: AsyncIterable<Buffer>, digest: StreamedDigest): Promise<T>;
}

/**
 * Reads a put's body once, hashing it (CRC32C + SHA-256) and reporting progress as it streams,
 * and hands it to `single` when it turns out shorter than one part, else to `multipart` as
 * fixed-size parts. Only the part being filled is held here; `signal` stops the read. The
 * body is destroyed when the writer settles, so a failed put never leaves a source flowing.
 */
export async function routePutBody<T>(
  body: PutBody,
  options: { partSize: number; signal?: AbortSignal | undefined; onProgress?: ((bytes: number) => void) | undefined },
  writers: PutBodyWriters<T>,
): Promise<T> {
  const hashed = pipeline(toReadable(body), new ChecksumStream(options.onProgress), () => {});
  if (options.signal) addAbortSignal(options.signal, hashed);
  const parts = fixedSizeChunks(hashed, options.partSize)[Symbol.asyncIterator]();
  try {
    let first: Buffer | undefined = (await parts.next()).value;
    if (first === undefined || first.length < options.partSize) return await writers.single(first ?? Buffer.alloc(0), hashed.checksums);
    const all = prependPart(first, parts);
    first = undefined; // this frame lives as long as the upload; it must not pin a part
    return await writers.multipart(all, hashed);
  } finally {
    hashed.destroy();
  }
}
