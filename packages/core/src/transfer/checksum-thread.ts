import { Worker } from 'node:worker_threads';
import { ChecksumAccumulator, type Digests } from '../checksums/checksums.js';
import type { ChecksumThreadReply, ChecksumThreadRequest } from './checksum-thread-worker.js';

/**
 * A download's checksums (SHA-256, and CRC32C unless `crc32c: false`), computed on another
 * thread from the shared memory its bytes landed in, so the one receiving a download neither
 * hashes nor copies: receiving and hashing (SHA-256 at about 2 GB/s) run side by side
 * (docs/ARCHITECTURE.md, "The worker pool"). `update` hashes the `length` bytes of `memory` at
 * `offset` as the job's next bytes (in the order asked) and resolves once they are hashed; they
 * must not change until then.
 */
export interface MemoryHasher {
  update(memory: SharedArrayBuffer, offset: number, length: number): Promise<void>;
  digest(): Promise<Digests>;
  /** Drops the job (after a failure): nothing more will be asked of it. */
  discard(): void;
}

/** A request before it is numbered (`Omit` spread over each kind of request). */
type Unsent = ChecksumThreadRequest extends infer R ? (R extends unknown ? Omit<R, 'request'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * One checksum thread per thread that asks for one, shared by all of its jobs, started at first
 * use. It keeps the process alive only while a job waits on it, and a thread that dies is
 * replaced at the next job (the jobs it had fail).
 */
class ChecksumThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextRequest = 0;
  #dead: Error | undefined;

  constructor() {
    // No flags of the caller's (`--input-type` from `node -e` would stop a file worker starting): it only hashes.
    this.#worker = new Worker(new URL('./checksum-thread-worker.js', import.meta.url), { execArgv: [] });
    this.#worker.unref();
    this.#worker.on('message', (reply: ChecksumThreadReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the checksum thread exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  request(message: Unsent): Promise<unknown> {
    if (this.#dead) return Promise.reject(this.#dead);
    const request = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(request, { resolve, reject });
      this.#worker.postMessage({ ...message, request } as ChecksumThreadRequest);
    });
  }

  #settle(reply: ChecksumThreadReply): void {
    const pending = this.#pending.get(reply.request);
    if (!pending) return;
    this.#pending.delete(reply.request);
    if (this.#pending.size === 0) this.#worker.unref();
    if ('error' in reply) pending.reject(new Error(reply.error));
    else pending.resolve(reply.digests);
  }

  #fail(error: Error): void {
    this.#dead ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

let thread: ChecksumThread | undefined;
let nextJob = 0;

/** What a hasher computes: CRC32C too unless `crc32c: false` (SHA-256 alone). */
export interface HasherOptions {
  crc32c: boolean;
}

/** A hasher on this thread's checksum thread (started, or restarted, as needed). */
export function offThreadHasher({ crc32c }: HasherOptions): MemoryHasher {
  if (!thread?.alive) thread = new ChecksumThread();
  const on = thread;
  const job = nextJob++;
  let discarded = false;
  return {
    update: async (memory, offset, length) => {
      await on.request({ op: 'update', job, memory, offset, length, crc32c });
    },
    digest: async () => (await on.request({ op: 'digest', job })) as Digests,
    discard: () => {
      if (discarded) return;
      discarded = true;
      on.request({ op: 'discard', job }).catch(() => {});
    },
  };
}

/**
 * A hasher on the calling thread, for a body that is one batch in all (a segment's index files):
 * hashing it here while its write runs costs less than the two round trips to the checksum
 * thread it would take.
 */
export function inlineHasher({ crc32c }: HasherOptions): MemoryHasher {
  const accumulator = new ChecksumAccumulator({ crc32c });
  return {
    update: async (memory, offset, length) => accumulator.update(new Uint8Array(memory, offset, length)),
    digest: async () => accumulator.digests(),
    discard: () => {},
  };
}
