import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checksumBytes, fixedSizeChunks, routePutBody, uploadBoundedParts, type Checksums, type PutBody, type StreamedDigest } from '@takhin/core';

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

describe('fixedSizeChunks', () => {
  it('cuts a source that is an exact multiple into full parts, whatever its chunking', async () => {
    const bytes = randomBytes(12);
    const parts = await collect(fixedSizeChunks(chunksOf(bytes.subarray(0, 1), bytes.subarray(1, 7), bytes.subarray(7)), 4));
    expect(parts.map((part) => part.length)).toEqual([4, 4, 4]);
    expect(Buffer.concat(parts)).toEqual(bytes);
  });

  it('ends with a shorter part holding the remainder', async () => {
    const bytes = randomBytes(11);
    const parts = await collect(fixedSizeChunks(chunksOf(bytes.subarray(0, 5), bytes.subarray(5)), 4));
    expect(parts.map((part) => part.length)).toEqual([4, 4, 3]);
    expect(Buffer.concat(parts)).toEqual(bytes);
  });

  it('yields nothing for an empty source, or one of empty chunks', async () => {
    expect(await collect(fixedSizeChunks(chunksOf(), 4))).toEqual([]);
    expect(await collect(fixedSizeChunks(chunksOf(new Uint8Array(0), new Uint8Array(0)), 4))).toEqual([]);
  });

  it('splits a chunk larger than the part across several parts', async () => {
    const bytes = randomBytes(10);
    const parts = await collect(fixedSizeChunks(chunksOf(bytes), 3));
    expect(parts.map((part) => part.length)).toEqual([3, 3, 3, 1]);
    expect(Buffer.concat(parts)).toEqual(bytes);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects a part size of %s', async (partSize) => {
    await expect(collect(fixedSizeChunks(chunksOf(randomBytes(4)), partSize))).rejects.toThrow(RangeError);
  });
});

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

describe('routePutBody', () => {
  const partSize = 1024;

  interface Routed {
    writer: 'single' | 'multipart';
    parts: number[];
    bytes: Buffer;
    checksums: Checksums;
    size: number;
  }

  /** Routes `body`, recording which writer ran with what; the multipart writer reads every part. */
  function route(body: PutBody, options: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {}): Promise<Routed> {
    return routePutBody<Routed>(body, { partSize, ...options }, {
      single: async (bytes, checksums) => ({ writer: 'single', parts: [bytes.length], bytes, checksums, size: bytes.length }),
      multipart: async (parts, digest: StreamedDigest) => {
        const all = await collect(parts);
        return { writer: 'multipart', parts: all.map((part) => part.length), bytes: Buffer.concat(all), checksums: digest.checksums, size: digest.bytes };
      },
    });
  }

  it.each([0, 1, partSize - 1])('hands a %i-byte body, shorter than one part, to single', async (size) => {
    const bytes = randomBytes(size);
    const routed = await route(bytes);
    expect(routed).toEqual({ writer: 'single', parts: [size], bytes, checksums: checksumBytes(bytes), size });
  });

  it.each([
    [partSize, [partSize]],
    [partSize + 1, [partSize, 1]],
    [3 * partSize, [partSize, partSize, partSize]],
  ])('hands a %i-byte body, one part or more, to multipart as parts %j', async (size, parts) => {
    const bytes = randomBytes(size);
    const routed = await route(bytes);
    expect(routed).toEqual({ writer: 'multipart', parts, bytes, checksums: checksumBytes(bytes), size });
  });

  it.each([
    ['a byte array', (bytes: Buffer): PutBody => new Uint8Array(bytes)],
    ['a Readable', (bytes: Buffer): PutBody => Readable.from([bytes.subarray(0, 700), bytes.subarray(700)])],
    ['an async iterable', (bytes: Buffer): PutBody => chunksOf(bytes.subarray(0, 10), bytes.subarray(10, 2000), bytes.subarray(2000))],
  ])('gives the checksums of the whole body for %s', async (_, asBody) => {
    const bytes = randomBytes(2 * partSize + 7);
    const routed = await route(asBody(bytes));
    expect(routed.checksums).toEqual(checksumBytes(bytes));
    expect(routed.size).toBe(bytes.length);
  });

  it('reports progress that only grows and ends at the total', async () => {
    const bytes = randomBytes(3 * partSize + 100);
    const seen: number[] = [];
    const chunks = Array.from({ length: Math.ceil(bytes.length / 300) }, (_, i) => bytes.subarray(i * 300, (i + 1) * 300));
    await route(chunksOf(...chunks), { onProgress: (n) => seen.push(n) });
    expect(seen.length).toBe(chunks.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen.at(-1)).toBe(bytes.length);
  });

  it.each([
    ['before the first part is full', partSize / 2],
    ['while the multipart writer waits for a part', partSize * 1.5],
  ])('rejects promptly when aborted on a stalled body, %s', async (_, size) => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const routed = route(stalling(randomBytes(size)), { signal: controller.signal });
    await sleep(20);
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(routed).rejects.toMatchObject({ name: 'AbortError', cause: reason });
    expect(performance.now() - abortedAt).toBeLessThan(500);
  }, STALL_TIMEOUT_MS);

  it('destroys the body when the writer fails', async () => {
    const body = new Readable({ read() {} }); // never ends, so only an explicit destroy ends it
    body.push(randomBytes(2 * partSize));
    const failure = new Error('writer failed');
    const routed = routePutBody(body, { partSize }, {
      single: async () => {},
      multipart: async () => {
        throw failure;
      },
    });
    await expect(routed).rejects.toBe(failure);
    await new Promise((resolve) => setImmediate(resolve)); // the pipeline passes the destroy on a tick later
    expect(body.destroyed).toBe(true);
  });
});
