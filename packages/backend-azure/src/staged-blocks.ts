import { createHash, randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { uploadBoundedParts } from '@takhin/core';

/**
 * Stages `blocks` on `blob` with at most `concurrency` Put Block requests in flight, each
 * with its MD5 as `Content-MD5` so the server verifies every block in transit (Azurite
 * verifies MD5 and CRC64 alike; MD5 is native in node:crypto, CRC64 would be JS).
 * Resolves to the block ids in order, ready for Put Block List. On the first failure (or
 * `signal`) the other requests are aborted and it rejects once all have settled.
 * Memory: `concurrency` blocks in flight plus the one the source is filling.
 */
export function stageBlocks(
  blob: BlockBlobClient,
  blocks: AsyncIterable<Buffer>,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  // Ids must be equally long within a blob; a random upload id keeps concurrent puts apart.
  const uploadId = randomBytes(8).toString('hex');
  return uploadBoundedParts(blocks, {
    queueSize: concurrency,
    signal,
    async upload(block, blockNumber, abortSignal) {
      const id = Buffer.from(`${uploadId}-${String(blockNumber).padStart(6, '0')}`).toString('base64');
      const md5 = createHash('md5').update(block).digest();
      await blob.stageBlock(id, block, block.byteLength, { transactionalContentMD5: md5, abortSignal });
      return id;
    },
  });
}
