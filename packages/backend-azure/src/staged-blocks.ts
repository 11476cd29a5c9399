import { createHash, randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';

/**
 * Stages `blocks` on `blob` with at most `concurrency` Put Block requests in flight, each
 * with its MD5 as `Content-MD5` so the server verifies every block in transit (Azurite
 * verifies MD5 and CRC64 alike; MD5 is native in node:crypto, CRC64 would be JS).
 * Resolves to the block ids in order, ready for Put Block List. On the first failure the
 * other requests are aborted and the error is rethrown once all have settled.
 * Memory: `concurrency` blocks in flight plus the one the source is filling.
 */
export async function stageBlocks(
  blob: BlockBlobClient,
  blocks: AsyncIterable<Buffer>,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  // Ids must be equally long within a blob; a random upload id keeps concurrent puts apart.
  const uploadId = randomBytes(8).toString('hex');
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const stop = new AbortController();
  const abortSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | undefined;

  for await (const block of blocks) {
    if (failure) break;
    const id = Buffer.from(`${uploadId}-${String(ids.length).padStart(6, '0')}`).toString('base64');
    ids.push(id);
    const md5 = createHash('md5').update(block).digest();
    const request = blob
      .stageBlock(id, block, block.byteLength, { transactionalContentMD5: md5, abortSignal })
      .then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
          stop.abort();
        },
      )
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return ids;
}
