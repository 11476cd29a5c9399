import { parentPort } from 'node:worker_threads';
import { ChecksumAccumulator, type Digests } from '../checksums/checksums.js';

// The checksum thread (see checksum-thread.ts): one accumulator per job, fed in the order the
// ranges were posted, each update answered once its bytes are hashed where they lie (shared memory).
// A job's first update says whether it computes CRC32C as well as SHA-256.

export type ChecksumThreadRequest =
  | { request: number; op: 'update'; job: number; memory: SharedArrayBuffer; offset: number; length: number; crc32c: boolean }
  | { request: number; op: 'digest'; job: number }
  | { request: number; op: 'discard'; job: number };

export type ChecksumThreadReply = { request: number; digests?: Digests } | { request: number; error: string };

const jobs = new Map<number, ChecksumAccumulator>();

parentPort!.on('message', (message: ChecksumThreadRequest) => {
  try {
    let accumulator = jobs.get(message.job);
    if (message.op === 'update') {
      if (!accumulator) jobs.set(message.job, (accumulator = new ChecksumAccumulator({ crc32c: message.crc32c })));
      accumulator.update(new Uint8Array(message.memory, message.offset, message.length));
      parentPort!.postMessage({ request: message.request } satisfies ChecksumThreadReply);
      return;
    }
    jobs.delete(message.job);
    // A job never updated hashed nothing: the empty input's digests.
    const digests = message.op === 'digest' ? (accumulator ?? new ChecksumAccumulator()).digests() : undefined;
    parentPort!.postMessage({ request: message.request, digests } satisfies ChecksumThreadReply);
  } catch (error) {
    if (message.op === 'update') jobs.delete(message.job); // a failed job hashes nothing more
    parentPort!.postMessage({ request: message.request, error: String(error) } satisfies ChecksumThreadReply);
  }
});
