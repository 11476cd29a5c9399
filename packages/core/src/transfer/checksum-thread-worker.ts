import { readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ChecksumAccumulator } from '../checksums/checksums.js';
import type { Checksums } from '../contracts/cold-store.js';

// The checksum thread (see checksum-thread.ts): one accumulator per job, fed in the order the
// ranges were posted, each update answered once its bytes are read back from the file and hashed.

export type ChecksumThreadRequest =
  | { request: number; op: 'update'; job: number; fd: number; position: number; length: number }
  | { request: number; op: 'digest'; job: number }
  | { request: number; op: 'discard'; job: number };

export type ChecksumThreadReply = { request: number; checksums?: Checksums } | { request: number; error: string };

/** Bytes read back per read(2): one buffer for every job, reused. */
const READ_BYTES = 1024 * 1024;
const readBuffer = Buffer.allocUnsafeSlow(READ_BYTES);

const jobs = new Map<number, ChecksumAccumulator>();

/** Reads `length` bytes at `position` of `fd` (the process's file table is shared with the asking thread) into the job's hashes. */
function hashRange(accumulator: ChecksumAccumulator, fd: number, position: number, length: number): void {
  for (let done = 0; done < length; ) {
    const read = readSync(fd, readBuffer, 0, Math.min(READ_BYTES, length - done), position + done);
    if (read === 0) throw new Error(`the file ended ${length - done} bytes early while being read back`);
    accumulator.update(readBuffer.subarray(0, read));
    done += read;
  }
}

parentPort!.on('message', (message: ChecksumThreadRequest) => {
  try {
    let accumulator = jobs.get(message.job);
    if (message.op === 'update') {
      if (!accumulator) jobs.set(message.job, (accumulator = new ChecksumAccumulator()));
      hashRange(accumulator, message.fd, message.position, message.length);
      parentPort!.postMessage({ request: message.request } satisfies ChecksumThreadReply);
      return;
    }
    jobs.delete(message.job);
    const checksums = message.op === 'digest' ? (accumulator ?? new ChecksumAccumulator()).digest() : undefined;
    parentPort!.postMessage({ request: message.request, checksums } satisfies ChecksumThreadReply);
  } catch (error) {
    if (message.op === 'update') jobs.delete(message.job); // a failed job hashes nothing more
    parentPort!.postMessage({ request: message.request, error: String(error) } satisfies ChecksumThreadReply);
  }
});
