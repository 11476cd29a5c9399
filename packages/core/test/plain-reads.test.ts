import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checksumBytes, ColdStoreError, DriverColdStore, downloadToLocalFile, httpRangeHeader, InMemoryStoreMetrics, PlainHttpClient, PlainHttpError, type BodySink, type ObjectRead, type PlainResponse, type SignedRead } from '@takhin/core';
import { MemoryDriver } from './fixtures/memory-driver.js';
import { MiB, makeTempDir, removeDir } from './fixtures/local-files.js';
import { startObjectHttpServer, type ObjectHttpServer } from './fixtures/object-http-server.js';
import { randomBytes } from 'node:crypto';

/** Collects a body in small buffers, pausing on every other fill. */
function collector(bufferBytes = 5000): BodySink & { bytes(): Buffer } {
  const parts: Buffer[] = [];
  let current = Buffer.alloc(bufferBytes);
  let used = 0;
  let fills = 0;
  return {
    space: () => current.subarray(used),
    filled(bytes) {
      used += bytes;
      if (used === bufferBytes) {
        parts.push(current);
        current = Buffer.alloc(bufferBytes);
        used = 0;
      }
      if (++fills % 2 === 0) return new Promise<void>((resolve) => setImmediate(resolve));
    },
    bytes: () => Buffer.concat([...parts, current.subarray(0, used)]),
  };
}

async function body(response: PlainResponse): Promise<Buffer> {
  const sink = collector();
  await response.readBody(sink);
  return sink.bytes();
}

let server: ObjectHttpServer;
/** A driver's `signRead` that sends every read to the test server. */
const signedByServer = async ({ name, range }: ObjectRead): Promise<SignedRead> => ({ url: server.urlOf(name), headers: range ? { range: httpRangeHeader(range) } : {} });
const getRequests = (metrics: InMemoryStoreMetrics) => metrics.snapshot().requests.find((entry) => entry.operation === 'getObject')?.requests;
const big = randomBytes(3 * MiB + 17);
beforeAll(async () => {
  server = await startObjectHttpServer();
  server.objects.set('big', big);
  server.objects.set('small', Buffer.from('hello'));
});
afterAll(() => server?.close());
beforeEach(() => server.misbehave.clear());

describe('PlainHttpClient', () => {
  it('reads bodies into the sink byte for byte, over one kept-alive connection', async () => {
    const client = new PlainHttpClient();
    try {
      const before = server.connections();
      for (const name of ['big', 'small', 'big']) {
        const response = await client.get({ url: server.urlOf(name), headers: {} });
        expect(response.status).toBe(200);
        expect(response.contentLength).toBe(server.objects.get(name)!.length);
        expect(Buffer.compare(await body(response), server.objects.get(name)!)).toBe(0);
      }
      const ranged = await client.get({ url: server.urlOf('big'), headers: { range: httpRangeHeader({ offset: MiB, length: 10 }) } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes ${MiB}-${MiB + 9}/${big.length}`);
      expect(Buffer.compare(await body(ranged), big.subarray(MiB, MiB + 10))).toBe(0);
      expect(server.connections() - before).toBe(1);
    } finally {
      client.close();
    }
  });

  it('replaces a kept-alive connection the server closed while it was idle', async () => {
    const brief = await startObjectHttpServer({ keepAliveTimeoutMs: 50 });
    brief.objects.set('small', Buffer.from('hello'));
    const client = new PlainHttpClient();
    try {
      expect((await body(await client.get({ url: brief.urlOf('small'), headers: {} }))).toString()).toBe('hello');
      await new Promise((resolve) => setTimeout(resolve, 300)); // the server has closed it by now
      expect((await body(await client.get({ url: brief.urlOf('small'), headers: {} }))).toString()).toBe('hello');
      expect(brief.connections()).toBe(2);
    } finally {
      client.close();
      await brief.close();
    }
  });

  it('hands out any status with its head; a body without Content-Length is refused', async () => {
    const client = new PlainHttpClient();
    try {
      const missing = await client.get({ url: server.urlOf('nothing'), headers: {} });
      expect(missing.status).toBe(404);
      missing.discard();
      server.misbehave.set('small', 'chunked');
      const chunked = await client.get({ url: server.urlOf('small'), headers: {} });
      expect(chunked.contentLength).toBeUndefined();
      await expect(chunked.readBody(collector())).rejects.toMatchObject({ name: 'PlainHttpError', code: 'EPROTO' });
    } finally {
      client.close();
    }
  });

  it('fails with the connection error: refused, cut short, silent, an oversized head, a header that cannot be sent', async () => {
    const client = new PlainHttpClient({ idleTimeoutMs: 300 });
    try {
      const closed = new URL(server.url);
      closed.port = '1';
      await expect(client.get({ url: `${closed.origin}/x`, headers: {} })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      server.misbehave.set('big', 'cut');
      const cut = await client.get({ url: server.urlOf('big'), headers: {} });
      await expect(cut.readBody(collector())).rejects.toMatchObject({ code: 'ECUTSHORT' });
      server.misbehave.set('big', 'stall');
      const stalled = await client.get({ url: server.urlOf('big'), headers: {} });
      await expect(stalled.readBody(collector())).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      server.misbehave.set('small', 'huge-head');
      await expect(client.get({ url: server.urlOf('small'), headers: {} })).rejects.toMatchObject({ code: 'EPROTO' });
      await expect(client.get({ url: server.urlOf('small'), headers: { 'x-evil': 'a\r\nhost: elsewhere' } })).rejects.toBeInstanceOf(PlainHttpError);
      await expect(client.get({ url: 'https://127.0.0.1/x', headers: {} })).rejects.toMatchObject({ code: 'EPROTO' });
    } finally {
      client.close();
    }
  });

  it('an abort in the middle of a body ends it with the abort reason', async () => {
    const client = new PlainHttpClient();
    try {
      const controller = new AbortController();
      const response = await client.get({ url: server.urlOf('big'), headers: {} });
      const sink = collector();
      let received = 0;
      const filled = sink.filled.bind(sink);
      sink.filled = (bytes) => {
        received += bytes;
        if (received > 100_000) controller.abort(new Error('stop here'));
        return filled(bytes);
      };
      await expect(response.readBody(sink, controller.signal)).rejects.toThrow('stop here');
      expect(received).toBeLessThan(big.length);
      // The client goes on with a new connection.
      expect(Buffer.compare(await body(await client.get({ url: server.urlOf('big'), headers: {} })), big)).toBe(0);
    } finally {
      client.close();
    }
  });
});

describe('DriverColdStore.readInto', () => {
  /** A memory driver whose reads are served by the HTTP server: `signRead` points at it. */
  function plainStore(options: { sign?: boolean } = {}) {
    const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 8 * MiB, partsInFlight: 2 });
    if (options.sign !== false) driver.signRead = signedByServer;
    const metrics = new InMemoryStoreMetrics();
    const store = new DriverColdStore(driver, { retry: { baseDelayMs: 1, maxDelayMs: 2 }, metrics });
    const put = async (key: string, bytes: Buffer) => {
      await store.put(key, bytes);
      server.objects.set(key, bytes);
    };
    return { driver, store, put, metrics };
  }
  const readAll = async (store: DriverColdStore, key: string, range?: { offset: number; length?: number }) => {
    const sink = collector();
    await store.readInto!(key, sink, { range });
    return sink.bytes();
  };

  it('is there only when the driver signs reads', async () => {
    expect(plainStore({ sign: false }).store.readInto).toBeUndefined();
    expect(plainStore().store.readInto).toBeTypeOf('function');
  });

  it('reads over the lean client: one counted request, no request through the driver, bytes counted down', async () => {
    const { driver, store, put, metrics } = plainStore();
    await put('obj', big);
    expect(Buffer.compare(await readAll(store, 'obj'), big)).toBe(0);
    expect(Buffer.compare(await readAll(store, 'obj', { offset: 5, length: 70_000 }), big.subarray(5, 70_005))).toBe(0);
    expect(driver.calls.filter((call) => call === 'getObject')).toEqual([]);
    expect(getRequests(metrics)).toBe(2);
    expect(metrics.snapshot().bytes.find((entry) => entry.backend === 'memory')?.down).toBe(big.length + 70_000);
  });

  it('leaves any other answer to the driver: its errors, its bytes', async () => {
    const { driver, store, put } = plainStore();
    await put('obj', big);
    server.misbehave.set('obj', 'chunked');
    expect(Buffer.compare(await readAll(store, 'obj'), big)).toBe(0);
    server.misbehave.set('obj', { status: 503 });
    expect(Buffer.compare(await readAll(store, 'obj', { offset: 1 }), big.subarray(1))).toBe(0);
    expect(driver.calls.filter((call) => call === 'getObject')).toHaveLength(2);
    server.misbehave.clear();
    await expect(readAll(store, 'never-put')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(readAll(store, 'obj', { offset: big.length })).rejects.toMatchObject({ code: 'INVALID_RANGE' });
  });

  it('a body cut short is UNAVAILABLE and retryable, naming how far it got; a dead server UNAVAILABLE after retries', async () => {
    const { store, put } = plainStore();
    await put('obj', big);
    server.misbehave.set('obj', 'cut');
    const error = await readAll(store, 'obj').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ColdStoreError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect((error as Error).message).toMatch(/after \d+ of \d+ bytes/);
    const dead = new MemoryDriver();
    dead.signRead = async () => ({ url: 'http://127.0.0.1:1/obj', headers: {} });
    const deadMetrics = new InMemoryStoreMetrics();
    const deadStore = new DriverColdStore(dead, { retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 }, metrics: deadMetrics });
    await expect(deadStore.readInto!('obj', collector())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(getRequests(deadMetrics)).toBe(2);
  });
});

describe('downloadToLocalFile over readInto', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('plain-download');
  });
  afterAll(() => removeDir(dir));
  const partFiles = async () => (await readdir(dir)).filter((name) => name.endsWith('.part'));

  function store() {
    const driver = new MemoryDriver({ maxNameBytes: 1024, partSize: 64 * MiB, partsInFlight: 1 });
    driver.signRead = signedByServer;
    return { driver, store: new DriverColdStore(driver) };
  }

  it.each([0, 999, 4 * MiB, 12 * MiB, 13 * MiB + 1])('downloads %i bytes, verified, through the batch buffers', async (size) => {
    const { driver, store: plain } = store();
    const bytes = randomBytes(size);
    server.objects.set(`dl-${size}`, bytes);
    const path = join(dir, `dl-${size}`);
    const result = await downloadToLocalFile(plain, `dl-${size}`, path, { expected: checksumBytes(bytes) });
    expect(result).toMatchObject({ size, checksums: checksumBytes(bytes), verified: ['sha256'] });
    expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
    expect(driver.calls).toEqual([]);
    expect(await partFiles()).toEqual([]);
  });

  it('a corrupted body is CHECKSUM_MISMATCH and leaves no file; an abort is ABORTED and leaves none', async () => {
    const { store: plain } = store();
    const bytes = randomBytes(9 * MiB);
    server.objects.set('bad', bytes);
    server.misbehave.set('bad', 'corrupt');
    await expect(downloadToLocalFile(plain, 'bad', join(dir, 'bad'), { expected: checksumBytes(bytes) })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    server.misbehave.clear();
    const controller = new AbortController();
    const progress: number[] = [];
    const aborted = downloadToLocalFile(plain, 'bad', join(dir, 'aborted'), {
      expected: checksumBytes(bytes),
      signal: controller.signal,
      onProgress: (done) => {
        progress.push(done);
        if (done > MiB) controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    expect(progress.at(-1)).toBeLessThan(bytes.length);
    expect((await readdir(dir)).filter((name) => name.startsWith('bad') || name.startsWith('aborted') || name.includes('.bad.') || name.includes('.aborted.'))).toEqual([]);
  });

  // A full disk: a 1 MiB tmpfs in a private mount namespace (`unshare -rm`), where a child restores into it.
  it('a download into a full disk fails with ENOSPC as a local failure, and leaves no temp file', async () => {
    server.objects.set('too-big', randomBytes(2 * MiB));
    const mount = join(dir, 'tiny');
    await mkdir(mount);
    const script = join(dir, 'read-into-tiny.mjs');
    const core = JSON.stringify(new URL('../dist/index.js', import.meta.url).href);
    await writeFile(
      script,
      `import { DriverColdStore, downloadToLocalFile, checksumBytes } from ${core};
import { readdirSync } from 'node:fs';
const driver = {
  backend: 'plain-fixture', limits: { maxNameBytes: 1024, partSize: 8 << 20, partsInFlight: 1 },
  features: { sha256OnHead: false, serverVerifiesCrc32c: false, conditionalWrites: 'probe' },
  signRead: async ({ name }) => ({ url: ${JSON.stringify(server.url)} + '/' + name, headers: {} }),
  getObject: async () => { throw new Error('not through the driver'); },
  mapError: (error) => error, close: async () => {},
};
const store = new DriverColdStore(driver);
try {
  await downloadToLocalFile(store, 'too-big', ${JSON.stringify(join(mount, 'restored'))}, { expected: { crc32c: 'AAAAAA==' } });
  console.log(JSON.stringify({ outcome: 'stored' }));
} catch (error) {
  console.log(JSON.stringify({ outcome: 'failed', code: error.code, retryable: error.retryable, message: error.message, left: readdirSync(${JSON.stringify(mount)}) }));
} finally {
  await store.close();
}
`,
    );
    const { stdout } = await promisify(execFile)('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m takhin-tiny "$0" && exec "$1" "$2"`, mount, process.execPath, script], { timeout: 60_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ outcome: 'failed', code: 'UNAVAILABLE', retryable: false, left: [] });
    expect(String(result.message)).toMatch(/ENOSPC|no space/i);
  });
});
