import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { uploadBoundedParts } from '@takhin/core';

async function* chunksOf(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

/** A case on a stalled source that ignored its abort would hang: fail it long before the suite's timeout. */
const STALL_TIMEOUT_MS = 5_000;

/** Hands over `bytes`, then hangs: no further chunk, no end. */
async function* stalling(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
  await new Promise(() => {});
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** `count` distinct parts of one byte each, counting how many were pulled. */
function countedParts(count: number) {
  const source = {
    pulled: 0,
    async *[Symbol.asyncIterator]() {
      for (let i = 1; i <= count; i++) {
        source.pulled++;
        yield Buffer.from([i]);
      }
    },
  };
  return source;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
const work = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => Promise.reject(signal.reason));

describe('uploadBoundedParts', () => {
  it('never has more than queueSize parts in flight, and pulls a part only into a free slot', async () => {
    let inFlight = 0;
    let most = 0;
    let busiestPull = 0;
    async function* parts() {
      for (let i = 1; i <= 20; i++) {
        busiestPull = Math.max(busiestPull, inFlight);
        yield Buffer.from([i]);
      }
    }
    const results = await uploadBoundedParts(parts(), {
      queueSize: 3,
      upload: async (_part, partNumber, signal) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await work(1 + (partNumber % 4) * 3, signal);
        inFlight--;
        return partNumber;
      },
    });
    expect(most).toBe(3);
    // The source is never read ahead of a free slot: memory stays at queueSize parts plus one.
    expect(busiestPull).toBe(2);
    expect(results).toHaveLength(20);
  });

  it('resolves to the results in part order, however the uploads finish', async () => {
    const results = await uploadBoundedParts(countedParts(8), {
      queueSize: 4,
      upload: async (part, partNumber, signal) => {
        await work(20 - 2 * partNumber, signal); // later parts finish first
        return `${partNumber}:${part[0]}`;
      },
    });
    expect(results).toEqual(['1:1', '2:2', '3:3', '4:4', '5:5', '6:6', '7:7', '8:8']);
  });

  it('on the first failure pulls no further part and rejects only after the started parts settle', async () => {
    const parts = countedParts(100);
    const started: number[] = [];
    const settled: { partNumber: number; sawAbort: boolean }[] = [];
    const failure = new Error('part 2 failed');
    const upload = uploadBoundedParts(parts, {
      queueSize: 3,
      upload: async (_part, partNumber, signal) => {
        started.push(partNumber);
        if (partNumber === 2) {
          await sleep(5);
          throw failure;
        }
        await sleep(40); // ignores its signal, so the rejection has to wait for it
        settled.push({ partNumber, sawAbort: signal.aborted });
      },
    });
    await expect(upload).rejects.toBe(failure);
    expect(started).toEqual([1, 2, 3]);
    expect(parts.pulled).toBe(3);
    expect(settled).toEqual([
      { partNumber: 1, sawAbort: true },
      { partNumber: 3, sawAbort: true },
    ]);
  });

  it('stops on its signal with the signal’s reason, even while the source has stalled', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const uploaded: number[] = [];
    const upload = uploadBoundedParts(stalling(Buffer.from([1])), {
      queueSize: 2,
      signal: controller.signal,
      upload: async (_part, partNumber, signal) => {
        await work(1, signal);
        uploaded.push(partNumber);
      },
    });
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(upload).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(uploaded).toEqual([1]);
  }, STALL_TIMEOUT_MS);

  it('uploads nothing when the signal has already fired', async () => {
    const parts = countedParts(3);
    let uploads = 0;
    const reason = new Error('too late');
    const upload = uploadBoundedParts(parts, { queueSize: 2, signal: AbortSignal.abort(reason), upload: async () => void uploads++ });
    await expect(upload).rejects.toBe(reason);
    expect(uploads).toBe(0);
    expect(parts.pulled).toBe(0);
  });

  it.each([0, 1.5, Number.NaN])('rejects a queueSize of %s', async (queueSize) => {
    await expect(uploadBoundedParts(countedParts(1), { queueSize, upload: async () => {} })).rejects.toThrow(RangeError);
  });
});
