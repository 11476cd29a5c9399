import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ColdStoreError, DriverColdStore, InMemoryStoreMetrics, checksumBytes, uploadLocalFile, type PutBody } from '@takhin/core';
import { MemoryDriver, reset } from './fixtures/memory-driver.js';

const fast = { baseDelayMs: 1, maxDelayMs: 2 };
const MiB = 1024 * 1024;
const bytesOf = async (stream: AsyncIterable<Uint8Array>) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
};
const failWith = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as ColdStoreError);
async function* chunks(...pieces: string[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield Buffer.from(piece);
}

describe('DriverColdStore: the write path', () => {
  it('sends a body shorter than a part in one request, a longer one in parts of exactly the part size', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver, { prefix: 'p', retry: fast });
    await store.put('small', Buffer.from('1234567'));
    expect(driver.calls).toEqual(['putObject']);
    driver.calls.length = 0;
    const put = await store.put('large', chunks('abc', 'defghijklmnopq', 'rstu'), { metadata: { a: 'b' } });
    expect(driver.calls).toEqual(['createMultipart', 'uploadPart', 'uploadPart', 'uploadPart', 'completeMultipart']);
    expect(driver.objects.get('p/large')!.body.toString()).toBe('abcdefghijklmnopqrstu');
    expect(put).toMatchObject({ key: 'large', size: 21, checksums: checksumBytes(Buffer.from('abcdefghijklmnopqrstu')), metadata: { a: 'b' } });
    // The whole-object CRC32C was combined from the parts', not hashed again.
    expect(driver.objects.get('p/large')!.crc32c).toBe(checksumBytes(Buffer.from('abcdefghijklmnopqrstu')).crc32c);
  });

  it('keeps at most partsInFlight parts in flight', async () => {
    const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 4, partsInFlight: 2 });
    driver.before = async (op) => {
      if (op === 'uploadPart') await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await new DriverColdStore(driver).put('k', Buffer.alloc(64, 1));
    expect(driver.mostInFlight).toBe(2);
  });

  it.each([
    ['short, single', 5, 'abc'],
    ['long, single', 3, 'abcdef'],
    ['short, multipart', 30, 'abcdefghijklmnopqrst'],
    ['long, multipart', 12, 'abcdefghijklmnopqrst'],
  ])('refuses a body %s than its declared size before anything is stored', async (_name, size, body) => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver);
    const error = await failWith(store.put('k', chunks(body), { size }));
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(driver.objects.size).toBe(0);
    expect(driver.calls).not.toContain('putObject');
    expect(driver.calls).not.toContain('completeMultipart');
    expect(driver.uploads.size).toBe(0);
  });

  it('refuses options that cannot describe a body, before reading it', async () => {
    const store = new DriverColdStore(new MemoryDriver());
    expect(await failWith(store.put('k', Buffer.from('x'), { size: -1 }))).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(await failWith(store.put('k', Buffer.from('x'), { checksums: { crc32c: 'nope' } }))).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(await failWith(store.put('k', Buffer.from('x'), { metadata: { 'Bad Key': 'v' } }))).toMatchObject({ code: 'INVALID_KEY' });
    expect(await failWith(store.put('k', Buffer.from('x'), { crc32cChunkSize: 0 }))).toMatchObject({ code: 'INVALID_RANGE' });
  });

  it('a body that throws fails as a ColdStoreError naming it, and the upload is aborted', async () => {
    const driver = new MemoryDriver();
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(20, 1);
      throw new Error('disk read failed');
    }
    const error = await failWith(new DriverColdStore(driver).put('k', broken()));
    expect(error).toBeInstanceOf(ColdStoreError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(String(error)).toContain('disk read failed');
    expect(driver.uploads.size).toBe(0);
  });

  it('retries a part after a reset (its bytes are in memory) and counts both attempts', async () => {
    const driver = new MemoryDriver();
    const metrics = new InMemoryStoreMetrics();
    let failures = 1;
    driver.before = (op) => {
      if (op === 'uploadPart' && failures-- > 0) throw reset();
    };
    const store = new DriverColdStore(driver, { retry: fast, metrics });
    await store.put('k', Readable.from([Buffer.alloc(20, 7)]));
    expect(driver.objects.get('k')!.body).toEqual(Buffer.alloc(20, 7));
    const parts = metrics.snapshot().requests.find((s) => s.operation === 'uploadPart')!;
    expect(parts.requests).toBe(4); // 3 parts, one of them twice
    expect(parts.errors).toEqual({ UNAVAILABLE: 1 });
    expect(metrics.snapshot().bytes).toEqual([{ backend: 'memory', up: 20, down: 0 }]);
  });

  it('a commit whose answer was lost but which landed reports success, not the failure', async () => {
    const driver = new MemoryDriver();
    let resets = 0;
    driver.before = (op, request) => {
      // The first complete lands, then its answer is lost; the retry finds the upload gone.
      if (op === 'completeMultipart' && resets++ === 0) {
        void driver.completeMultipart(request as never).catch(() => {});
        throw reset();
      }
    };
    const store = new DriverColdStore(driver, { retry: fast });
    const put = await store.put('k', Buffer.alloc(30, 3));
    expect(put.size).toBe(30);
    expect(driver.objects.get('k')!.body).toEqual(Buffer.alloc(30, 3));
  });

  it('never abandons a commit for an abort: an abort after the last byte still ends in success', async () => {
    const driver = new MemoryDriver();
    const controller = new AbortController();
    driver.before = async (op) => {
      if (op === 'completeMultipart') {
        controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const put = await new DriverColdStore(driver).put('k', Buffer.alloc(30, 3), { signal: controller.signal });
    expect(put.size).toBe(30);
    expect(driver.objects.has('k')).toBe(true);
  });

  it('an abort before the commit stores nothing and leaves no upload', async () => {
    const driver = new MemoryDriver();
    const controller = new AbortController();
    driver.before = (op) => {
      if (op === 'uploadPart') controller.abort();
    };
    expect(await failWith(new DriverColdStore(driver).put('k', Buffer.alloc(30, 3), { signal: controller.signal }))).toMatchObject({ code: 'ABORTED' });
    expect(driver.objects.size).toBe(0);
    expect(driver.uploads.size).toBe(0);
  });

  it('an aborted put reports ABORTED promptly when the server no longer answers its abort; the abort is kept and finished later', async () => {
    // A silent server (a partition, a hung server): each request hangs until its socket times
    // out. The put used to wait for every attempt of the upload's abort (4 × 30 s against
    // MinIO) before reporting the caller's abort: 123-130 s after it on s3 and minio.
    const driver = new MemoryDriver();
    let silent = false;
    let abortAttempts = 0;
    let timeOut: ((error: Error) => void) | undefined;
    const controller = new AbortController();
    driver.before = async (op) => {
      if (op === 'uploadPart' && !silent) {
        // From here on the server is silent, and the caller gives up.
        silent = true;
        controller.abort(new Error('the caller gave up'));
      }
      if (op !== 'abortMultipart') return;
      abortAttempts++;
      if (silent) await new Promise((_, reject) => (timeOut = reject));
    };
    const store = new DriverColdStore(driver, { retry: { ...fast, abortCleanupWaitMs: 200 } });
    async function* stalling(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(20, 5);
      await new Promise(() => {}); // more is coming, but not yet
    }
    const started = performance.now();
    expect(await failWith(store.put('k', stalling(), { signal: controller.signal }))).toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - started, 'milliseconds from abort to ABORTED').toBeLessThan(2_000);
    expect(driver.objects.size).toBe(0);
    // The next put is held up by the hung abort no longer than that wait, and sends no second one.
    await store.put('next', Buffer.from('x'));
    expect(abortAttempts).toBe(1);
    expect(driver.uploads.size).toBe(1);
    // The hung request times out, the server answers again: the abort is retried and done.
    silent = false;
    timeOut!(reset());
    await vi.waitFor(() => expect(driver.uploads.size).toBe(0));
    expect(abortAttempts).toBe(2);
    await store.close();
  }, 10_000);

  it('computes per-chunk CRC32Cs in the same pass, chunks and parts of different sizes', async () => {
    const body = Buffer.from(Array.from({ length: 50 }, (_, i) => i));
    const put = await new DriverColdStore(new MemoryDriver()).put('k', body as PutBody, { crc32cChunkSize: 7 });
    const expected = Array.from({ length: 8 }, (_, i) => checksumBytes(body.subarray(i * 7, i * 7 + 7)).crc32c);
    expect(put.chunks).toEqual({ size: 7, crc32c: expected });
    expect(put.checksums).toEqual(checksumBytes(body));
  });
});

describe('DriverColdStore: whole local files reuse one buffer from put to put', () => {
  it('files of a few MiB go in one request each, read into the same buffer; concurrent puts never share one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takhin-whole-bodies-'));
    try {
      const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 4 * MiB, partsInFlight: 2 });
      const lent: ArrayBufferLike[] = [];
      const lend = (operation: string, request: unknown) => {
        if (operation === 'putObject') lent.push((request as { body: Buffer }).body.buffer);
      };
      driver.before = lend;
      const store = new DriverColdStore(driver, { retry: fast });
      const files = await Promise.all(
        [3 * MiB, 3 * MiB - 5, 2 * MiB + 1, 1000].map(async (size, index) => {
          const bytes = randomBytes(size);
          await writeFile(join(dir, `f${index}`), bytes);
          return { path: join(dir, `f${index}`), bytes };
        }),
      );
      for (const [index, file] of files.entries()) await uploadLocalFile(store, file.path, `f${index}`);
      expect(driver.calls).toEqual(['putObject', 'putObject', 'putObject', 'putObject']);
      for (const [index, file] of files.entries()) expect(Buffer.compare(driver.objects.get(`f${index}`)!.body, file.bytes)).toBe(0);
      // The three MiB-sized files shared one buffer (rounded up to 3 MiB); the 1000-byte one had its own.
      expect(lent[1]).toBe(lent[0]);
      expect(lent[2]).toBe(lent[0]);
      expect(lent[3]).not.toBe(lent[0]);
      // Each of two puts waits at its request until the other is there too, so both hold their
      // buffers at once (left to the scheduler, the first could finish before the second starts).
      lent.length = 0;
      let bothArrived!: () => void;
      const both = new Promise<void>((resolve) => (bothArrived = resolve));
      driver.before = (operation, request) => {
        lend(operation, request);
        if (operation !== 'putObject') return;
        if (lent.length === 2) bothArrived();
        return both;
      };
      await Promise.all([uploadLocalFile(store, files[0]!.path, 'g0'), uploadLocalFile(store, files[1]!.path, 'g1')]);
      expect(lent).toHaveLength(2);
      expect(lent[0]).not.toBe(lent[1]);
      expect(Buffer.compare(driver.objects.get('g0')!.body, files[0]!.bytes)).toBe(0);
      expect(Buffer.compare(driver.objects.get('g1')!.body, files[1]!.bytes)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('uploadLocalFile: an abort while the file is put', () => {
  // The abort destroyed the file's stream with an error, but a file read straight into part
  // buffers has no stream reader listening: the unhandled 'error' event killed the process (a
  // TransferPool worker: its temp files stayed, and a put whose object had landed reported
  // ABORTED). And the descriptor was closed while positional reads were still to come.
  it('neither kills the process nor reads the file after closing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takhin-upload-abort-'));
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const path = join(dir, 'segment.log');
      const bytes = randomBytes(64 * 1024);
      await writeFile(path, bytes);

      // Aborted during the commit: the put is never abandoned there, so it succeeds.
      const committing = new MemoryDriver({ maxNameBytes: 1024, partSize: 16 * 1024, partsInFlight: 2 });
      const late = new AbortController();
      committing.before = async (op) => {
        if (op === 'completeMultipart') {
          late.abort(new Error('too late'));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const stored = await uploadLocalFile(new DriverColdStore(committing), path, 'committed', { signal: late.signal });
      expect(stored.size).toBe(bytes.length);

      // Aborted between two parts: ABORTED, every part read from the file itself, nothing left.
      const reading = new MemoryDriver({ maxNameBytes: 1024, partSize: 16 * 1024, partsInFlight: 1 });
      const early = new AbortController();
      reading.before = async (op) => {
        if (op === 'uploadPart' && !early.signal.aborted) {
          early.abort(new Error('given up'));
          await new Promise((resolve) => setTimeout(resolve, 20)); // the descriptor's close runs meanwhile
        }
      };
      expect(await failWith(uploadLocalFile(new DriverColdStore(reading), path, 'aborted', { signal: early.signal }))).toMatchObject({ code: 'ABORTED' });
      for (const [id, upload] of reading.uploads) expect.fail(`upload ${id} of ${upload.start.key} left open`);
      expect(reading.objects.size).toBe(0);

      await new Promise((resolve) => setTimeout(resolve, 50)); // let a late 'error' event surface
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('uploadLocalFile: a file that changes while it is put', () => {
  it('one that grows fails naming the file and what changed, not only the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'takhin-upload-grows-'));
    try {
      const path = join(dir, 'segment.log');
      await writeFile(path, randomBytes(64 * 1024));
      // Appended to (a writer still at work) once its first part is sent.
      const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 16 * 1024, partsInFlight: 1 });
      driver.before = async (op) => {
        if (op === 'uploadPart' && driver.calls.filter((call) => call === 'uploadPart').length === 1) await appendFile(path, 'more');
      };
      const error = await failWith(uploadLocalFile(new DriverColdStore(driver), path, 'grown'));
      // The local file's failure, not the store's: a tiering operation reports it as LOCAL_FAILURE.
      expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', key: 'grown', localPath: path });
      expect(String(error)).toContain(`local file "${path}" changed while being read (65536 bytes at open`);
      expect(driver.objects.size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DriverColdStore: reads and deletes', () => {
  it('slices a whole-object answer to a range, and refuses one past the end', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver);
    const body = Buffer.from('0123456789');
    await store.put('k', body);
    driver.ignoreRange = true;
    expect((await bytesOf(await store.get('k', { range: { offset: 3, length: 4 } }))).toString()).toBe('3456');
    expect((await bytesOf(await store.get('k', { range: { offset: 8 } }))).toString()).toBe('89');
    expect(await failWith(store.get('k', { range: { offset: 10 } }))).toMatchObject({ code: 'INVALID_RANGE' });
  });

  it('a body that breaks mid-read reaches the reader as UNAVAILABLE, and one cut short too', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver);
    await store.put('k', Buffer.alloc(100, 1));
    driver.getObject = async () => ({
      body: new Readable({
        read() {
          this.push(Buffer.alloc(10));
          this.destroy(reset());
        },
      }),
      status: 200,
      contentLength: 100,
    });
    expect(await failWith(bytesOf(await store.get('k')))).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    driver.getObject = async () => ({ body: Readable.from([Buffer.alloc(10)]), status: 200, contentLength: 100 });
    const short = await failWith(bytesOf(await store.get('k')));
    expect(short).toMatchObject({ code: 'UNAVAILABLE' });
    expect(String(short)).toContain('ended after 10 bytes of 100');
  });

  it('a body whose server goes silent fails UNAVAILABLE after the idle timeout; a reader that holds back is not failed for it', async () => {
    const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 8, partsInFlight: 2, idleTimeoutMs: 100 });
    const store = new DriverColdStore(driver);
    await store.put('k', Buffer.alloc(100, 1));
    let pushed = false;
    driver.getObject = async () => ({
      body: new Readable({
        read() {
          if (!pushed) this.push(Buffer.alloc(10));
          pushed = true; // then nothing more: a server gone quiet
        },
      }),
      status: 200,
      contentLength: 100,
    });
    const started = performance.now();
    const silent = await failWith(bytesOf(await store.get('k')));
    expect(silent).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(String(silent)).toContain('no byte of the body for 100 ms, after 10 bytes');
    expect(performance.now() - started).toBeLessThan(2_000);
    // A whole body read slowly by its reader: pauses longer than the timeout are the reader's.
    const body = Buffer.alloc(64 * 1024, 2);
    driver.getObject = async () => ({ body: Readable.from([body.subarray(0, 32 * 1024), body.subarray(32 * 1024)]), status: 200, contentLength: body.length });
    const slowReader = await store.get('k');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(Buffer.compare(await bytesOf(slowReader), body)).toBe(0);
  });

  it('splits batch deletes at the driver limit and falls back to single deletes once refused', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver, { retry: fast });
    for (const key of ['a', 'b', 'c', 'd']) await store.put(key, Buffer.from(key));
    driver.calls.length = 0;
    await store.delete(['a', 'b', 'c', 'd']);
    expect(driver.calls).toEqual(['deleteBatch', 'deleteBatch']);
    driver.deleteBatch = async () => {
      throw new Error('501 Not Implemented');
    };
    for (const key of ['e', 'f']) await store.put(key, Buffer.from(key));
    await store.delete(['e', 'f']);
    expect(driver.objects.size).toBe(0);
    expect(store.capabilities.maxDeleteBatch).toBe(1);
  });

  it('a batch delete refused in its first slice sends the other slices of the same call one by one, without asking again', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver, { retry: fast });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    driver.calls.length = 0;
    driver.deleteBatch = async () => {
      driver.calls.push('deleteBatch');
      throw new Error('501 Not Implemented');
    };
    await store.delete(keys);
    expect(driver.objects.size).toBe(0);
    expect(driver.calls.filter((call) => call === 'deleteBatch'), 'one refusal, not one per slice of 3').toHaveLength(1);
    expect(driver.calls.filter((call) => call === 'deleteObject')).toHaveLength(7);
  });

  it('lists across pages and hides the reserved .takhin/ names', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver, { prefix: 'p' });
    for (const key of ['a', 'b', 'c', 'd', 'e']) await store.put(key, Buffer.from(key));
    driver.objects.set('p/.takhin/probe/x', { body: Buffer.from('x'), crc32c: '', metadata: {} });
    const keys: string[] = [];
    for await (const object of store.list('', { pageSize: 2 })) keys.push(object.key);
    expect(keys).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses a listing whose server hands back a continuation token it already answered, instead of looping', async () => {
    const driver = new MemoryDriver();
    const store = new DriverColdStore(driver);
    for (const key of ['a', 'b', 'c', 'd', 'e']) await store.put(key, Buffer.from(key));
    const listPage = driver.listPage.bind(driver);
    // A-B-A: the third page names the first page's token again.
    driver.listPage = async (request) => ({ ...(await listPage(request)), cursor: request.cursor === undefined ? 'one' : request.cursor === 'one' ? 'two' : 'one' });
    const keys: string[] = [];
    const error = await failWith(
      (async () => {
        for await (const object of store.list('', { pageSize: 2 })) {
          keys.push(object.key);
          if (keys.length > 20) throw new Error('the listing looped');
        }
      })(),
    );
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(String(error)).toContain('continuation token "one" again');
    expect(driver.calls.filter((call) => call === 'listPage')).toHaveLength(3);
  });
});
