import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ColdStoreErrorCode, StoreContext } from '@takhin/core';
import { patternedChecksums, patternedStream } from '../bodies/patterned-body.js';
import { expectCode, expectStorageClassApplied } from '../contract/assertions.js';
import { s3ErrorAnswer, startStubHttpServer, type StubHttpServer } from '../network/stub-http-server.js';
import { expectResetMidGetIsUnavailable } from '../network/reset-mid-get.js';
import { startS3StubServer } from '../network/s3-stub-server.js';
import { TcpProxy } from '../network/tcp-proxy.js';
import { PrivateMinio } from '../servers/private-minio.js';
import { requireServiceEnv } from '../services/service-env.js';
import type { S3FamilyBackend, S3FamilySettings, S3FamilyStore, S3ServerInspector } from './s3-family-backend.js';
import { defineImperfectServerCases } from './imperfect-server-cases.js';
import { createBucket, sharedMinioSettings } from './shared-minio-settings.js';

/**
 * S3 error answers MinIO will not give on demand, each with the contract code and retryability
 * it must map to. A loopback stub speaks S3's XML errors, so the backend's real client parses them.
 */
const ERROR_ANSWERS = [
  [503, 'SlowDown', 'THROTTLED', true],
  [429, 'TooManyRequests', 'THROTTLED', true],
  [503, 'ServiceUnavailable', 'UNAVAILABLE', true],
  [500, 'InternalError', 'UNAVAILABLE', true],
  [502, 'BadGateway', 'UNAVAILABLE', true],
  [403, 'AccessDenied', 'ACCESS_DENIED', false],
  [403, 'InvalidAccessKeyId', 'ACCESS_DENIED', false],
  [404, 'NoSuchKey', 'NOT_FOUND', false],
  [412, 'PreconditionFailed', 'ALREADY_EXISTS', false],
  [416, 'InvalidRange', 'INVALID_RANGE', false],
] as const;

type AnswerName<Row> = Row extends readonly [infer Status extends number, infer Code extends string, ...unknown[]] ? `${Status} ${Code}` : never;
/** An error answer by status and S3 code, as `'503 ServiceUnavailable'`. */
export type S3ErrorAnswerName = AnswerName<(typeof ERROR_ANSWERS)[number]>;

/** How one backend really maps an error answer, and why it differs. The case still runs. */
export interface ErrorMappingOverride {
  code: ColdStoreErrorCode;
  retryable: boolean;
  reason: string;
}

/** Where a backend differs from the S3 family, each difference written down with its reason. */
export interface S3FamilyOverrides {
  errorMapping?: Partial<Record<S3ErrorAnswerName, ErrorMappingOverride>>;
}

/**
 * Behaviour every S3-protocol backend shares beyond the ColdStore contract: crashes and
 * partitions mid-upload, error mapping, multipart checksums, a missing bucket, server-side
 * encryption and wrong credentials, against real MinIO servers (a private one where a case
 * kills it). `name` is the backend's name as its errors report it; `backend` supplies how to
 * build its store and inspect the raw server; `overrides` record where it differs.
 */
export function describeS3FamilyBehaviour<Config>(name: string, backend: S3FamilyBackend<Config>, overrides: S3FamilyOverrides = {}): void {
  const storeOf = (settings: S3FamilySettings, context?: StoreContext): S3FamilyStore => backend.createStore(backend.config(settings), context);
  const onSharedMinio = (settings: Partial<S3FamilySettings>, context?: StoreContext) => storeOf(sharedMinioSettings(name, settings), context);

  describe(`${name}: the server killed in the middle of an upload`, () => {
    let minio: PrivateMinio;
    let settings: S3FamilySettings;
    let inspector: S3ServerInspector;
    const openUploads = () => inspector.openUploads(settings.bucket, 'segments/');
    beforeAll(async () => {
      minio = await PrivateMinio.start();
      const { endpoint, accessKey, secretKey, region } = minio;
      settings = { endpoint, accessKey, secretKey, region, bucket: 'crash', prefix: 'segments', partSizeMb: 5, queueSize: 2 };
      inspector = backend.inspect(settings);
      await inspector.createBucket(settings.bucket);
    });
    afterAll(async () => {
      inspector?.close?.();
      await minio?.destroy();
    });

    it('fails UNAVAILABLE; after a restart nothing partial is visible and no upload stays open', async () => {
      const store = storeOf(settings);
      const size = 8 * store.partSize;
      // SIGKILL the server once two and a half parts have been read, then keep feeding the put.
      const body = interruptedBody(size, 7, 2.5 * store.partSize, () => minio.kill());
      const error = await expectCode(store.put('orders-0/00000000000000000000.log', body, { size }), 'UNAVAILABLE');
      expect(error.retryable).toBe(true);

      await minio.restart();
      expect(await store.head('orders-0/00000000000000000000.log')).toBeNull();
      // MinIO drops the staged parts of an upload it was receiving when killed; a server that
      // keeps them gets the failed abort retried by the store's next put (see the next case).
      await store.put('orders-0/after-restart', Buffer.from('x'));
      expect(await openUploads()).toEqual([]);
      expect(await store.head('orders-0/00000000000000000000.log')).toBeNull();
      await store.delete('orders-0/after-restart');
      await store.close();
    });

    it('an upload whose abort failed while the server was unreachable is aborted on the next put', async () => {
      const proxy = new TcpProxy(minio.port);
      await proxy.open();
      const store = storeOf({ ...settings, endpoint: proxy.endpoint });
      const size = 8 * store.partSize;
      const body = interruptedBody(size, 8, 2.5 * store.partSize, () => proxy.cut());
      await expectCode(store.put('orders-1/00000000000000000000.log', body, { size }), 'UNAVAILABLE');
      // The server never lost the upload; only the store lost its way to it.
      expect(await openUploads()).toHaveLength(1);
      await proxy.open();
      await store.put('orders-1/after-partition', Buffer.from('x'));
      expect(await openUploads()).toEqual([]);
      expect(await store.head('orders-1/00000000000000000000.log')).toBeNull();
      await store.delete('orders-1/after-partition');
      await store.close();
      await proxy.cut();
    });

    it('abortStaleUploads clears uploads left open by a process that died', async () => {
      // A writer that died between two parts: its store instance, and its memory, are gone.
      await inspector.leaveUploadOpen(settings.bucket, 'segments/dead/writer.log', Buffer.alloc(1024));
      const store = storeOf(settings);
      // Young uploads may belong to a live writer and are left alone.
      expect(await store.abortStaleUploads(60 * 60 * 1000)).toBe(0);
      expect(await openUploads()).toHaveLength(1);
      expect(await store.abortStaleUploads(0)).toBe(1);
      expect(await openUploads()).toEqual([]);
      await store.close();
    });
  });

  describe(`${name}: server errors map to contract codes`, () => {
    let stub: StubHttpServer | undefined;
    afterEach(() => stub?.close());
    // One attempt: these cases read the mapping itself; the retry case below counts the attempts.
    const storeOn = (url: string, retry: StoreContext['retry'] = { maxAttempts: 1 }) => onSharedMinio({ prefix: 'stub', endpoint: url }, { retry });

    for (const [status, code, expectedCode, expectedRetryable] of ERROR_ANSWERS) {
      const override = overrides.errorMapping?.[`${status} ${code}` as S3ErrorAnswerName];
      const [expected, retryable] = override ? [override.code, override.retryable] : [expectedCode, expectedRetryable];
      const title = `HTTP ${status} ${code} is ${expected} (retryable: ${retryable})${override ? ` [override: ${override.reason}]` : ''}`;
      it(title, async () => {
        stub = await startStubHttpServer(() => s3ErrorAnswer(status, code));
        const store = storeOn(stub.url);
        const error = await expectCode(store.get('segments/orders-0/00000000000000000000.log'), expected);
        expect(error.retryable).toBe(retryable);
        expect(error.backend).toBe(name);
        expect(error.cause).toBeDefined();
        await store.close();
      });
    }

    it('a missing bucket is named in the error', async () => {
      stub = await startStubHttpServer(() => s3ErrorAnswer(404, 'NoSuchBucket', 'The specified bucket does not exist'));
      const store = storeOn(stub.url);
      const error = await expectCode(store.put('k', Buffer.from('x')), 'NOT_FOUND');
      expect(error.message).toContain(`bucket "${sharedMinioSettings(name).bucket}" does not exist`);
      await store.close();
    });

    it("the client never retries by itself; the store's retry layer does, for retryable codes only", async () => {
      stub = await startStubHttpServer(() => s3ErrorAnswer(503, 'SlowDown'));
      const once = storeOn(stub.url);
      await expectCode(once.get('k'), 'THROTTLED');
      expect(stub.requests).toHaveLength(1);

      const fast = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
      const retrying = storeOn(stub.url, fast);
      await expectCode(retrying.get('k'), 'THROTTLED');
      expect(stub.requests).toHaveLength(4);

      await stub.close();
      stub = await startStubHttpServer(() => s3ErrorAnswer(403, 'AccessDenied'));
      const denied = storeOn(stub.url, fast);
      await expectCode(denied.get('k'), 'ACCESS_DENIED');
      expect(stub.requests).toHaveLength(1);
      await Promise.all([once.close(), retrying.close(), denied.close()]);
    });
  });

  describe(`${name}: a connection reset in the middle of a get`, () => {
    it('reaches the reader as UNAVAILABLE, retryable, never a raw socket error', async () => {
      const settings = sharedMinioSettings(name, { prefix: `reset-get-${process.pid}` });
      await createBucket(backend, settings);
      const proxy = new TcpProxy(Number(new URL(settings.endpoint).port));
      await proxy.open();
      const [direct, viaProxy] = [storeOf(settings), storeOf({ ...settings, endpoint: proxy.endpoint })];
      try {
        await expectResetMidGetIsUnavailable(direct, viaProxy, proxy);
      } finally {
        await Promise.all([direct.close(), viaProxy.close(), proxy.cut()]);
      }
    });
  });

  defineImperfectServerCases(name, backend, storeOf);

  describe(`${name}: checksums of multipart uploads`, () => {
    const settings = sharedMinioSettings(name, { prefix: `multipart-checksums-${process.pid}` });
    const store = storeOf(settings);
    beforeAll(() => createBucket(backend, settings));
    afterAll(async () => {
      await store.delete(['plain', 'declared']);
      await store.close();
    });

    it("head reports the server's full-object CRC32C, not a checksum of checksums", async () => {
      const size = 2 * store.partSize + 123;
      const expected = patternedChecksums(size, 5);
      const put = await store.put('plain', patternedStream(size, 5), { size });
      expect(put.checksums).toEqual(expected);
      const head = await store.head('plain');
      expect(head?.checksums.crc32c).toBe(expected.crc32c);
      // Unknown before the first part was sent, so not kept (capabilities.sha256OnHead is false).
      expect(head?.checksums.sha256).toBeUndefined();
      expect(store.capabilities.sha256OnHead).toBe(false);
    });

    it('a SHA-256 declared at put is verified and kept', async () => {
      const size = store.partSize + 1;
      const expected = patternedChecksums(size, 6);
      await store.put('declared', patternedStream(size, 6), { size, checksums: { sha256: expected.sha256 } });
      expect((await store.head('declared'))?.checksums).toEqual(expected);
    });
  });

  describe(`${name}: a bucket that does not exist`, () => {
    const bucket = `takhin-missing-${process.pid}`;
    const store = onSharedMinio({ bucket, prefix: 'x' });
    afterAll(() => store.close());

    it('fails every operation with an error naming the bucket', async () => {
      const attempts = [
        () => store.put('k', Buffer.from('x')),
        () => store.put('big', Buffer.alloc(store.partSize + 1)),
        () => store.get('k'),
        // A HEAD 404 cannot tell a missing bucket from a missing key; the store asks.
        () => store.head('k'),
        () => store.delete(['k', 'l']),
        () => store.list('')[Symbol.asyncIterator]().next(),
      ];
      for (const attempt of attempts) {
        const error = await expectCode(attempt(), 'NOT_FOUND');
        expect(error.message).toContain(`bucket "${bucket}" does not exist`);
      }
    });
  });

  describe(`${name}: server-side encryption`, () => {
    const { TAKHIN_MINIO_KMS_KEY_ID: kmsKeyId } = requireServiceEnv('minio', ['TAKHIN_MINIO_KMS_KEY_ID']);
    const stores: S3FamilyStore[] = [];
    afterAll(async () => {
      for (const store of stores) {
        await store.delete(['single', 'multipart']);
        await store.close();
      }
    });

    for (const sse of [{ sse: 'AES256' }, { sse: 'aws:kms', kmsKeyId }] as const) {
      it(`${sse.sse} is asked for on single and multipart puts and visible in head`, async () => {
        const settings = sharedMinioSettings(name, { prefix: `sse-${sse.sse.replace(':', '-')}-${process.pid}`, ...sse });
        await createBucket(backend, settings);
        const store = storeOf(settings);
        stores.push(store);
        await store.put('single', Buffer.from('secret'));
        const size = store.partSize + 10;
        await store.put('multipart', patternedStream(size, 3), { size });
        for (const key of ['single', 'multipart']) {
          expect((await store.head(key))?.serverSideEncryption, key).toBe(sse.sse);
        }
      });
    }
  });

  describe(`${name}: storage classes`, () => {
    it('REDUCED_REDUNDANCY (a class MinIO keeps) is applied on single and multipart puts and reported by head', async () => {
      const settings = sharedMinioSettings(name, { prefix: `storage-class-${process.pid}`, storageClass: 'REDUCED_REDUNDANCY' });
      await createBucket(backend, settings);
      const store = storeOf(settings);
      await expectStorageClassApplied(store, 'REDUCED_REDUNDANCY');
      // A listing never claims a class other than the object's (a client that does not read it says none).
      await store.put('listed', Buffer.from('x'));
      const listed = [];
      for await (const object of store.list('listed')) listed.push(object.storageClass);
      expect(listed).toHaveLength(1);
      expect([undefined, 'REDUCED_REDUNDANCY'], `listed as ${listed[0]}`).toContain(listed[0]);
      await store.delete('listed');
      // Without the key, the server's default class, which S3 reports by leaving the header out.
      const plain = storeOf({ ...settings, storageClass: undefined });
      await plain.put('default', Buffer.from('x'));
      expect((await plain.head('default'))?.storageClass).toBe('STANDARD');
      await plain.delete('default');
      await Promise.all([store.close(), plain.close()]);
    });

    for (const storageClass of ['STANDARD_IA', 'GLACIER_IR', 'ONEZONE_IA', 'INTELLIGENT_TIERING']) {
      it(`${storageClass} (refused by a MinIO without tiering) reaches the server on every write and comes back on head (the S3 stub)`, async () => {
        const stub = await startS3StubServer();
        const store = storeOf({ endpoint: stub.url, accessKey: 'stub', secretKey: 'stub-secret', region: 'us-east-1', bucket: 'classes', prefix: 'p', partSizeMb: 5, queueSize: 2, storageClass });
        try {
          const size = store.partSize + 10;
          await store.put('single', Buffer.from('cold'));
          await store.put('multipart', patternedStream(size, 8), { size });
          const writes = stub.requests.filter((r) => (r.method === 'PUT' && !r.path.includes('uploadId')) || (r.method === 'POST' && r.path.includes('uploads')));
          expect(writes.map((r) => r.headers['x-amz-storage-class'])).toEqual([storageClass, storageClass]);
          for (const key of ['single', 'multipart']) expect((await store.head(key))?.storageClass, key).toBe(storageClass);
        } finally {
          await store.close();
          await stub.close();
        }
      });
    }

    it('a class the server does not offer fails the put with an error saying so, not retried', async () => {
      const settings = sharedMinioSettings(name, { prefix: `storage-class-refused-${process.pid}`, storageClass: 'STANDARD_IA' });
      await createBucket(backend, settings);
      const store = storeOf(settings);
      const error = await expectCode(store.put('refused', Buffer.from('x')), 'UNAVAILABLE');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/storage class.*InvalidStorageClass/);
      expect(await store.head('refused')).toBeNull();
      await store.close();
    });

    it('the config refuses classes that need a restore before each read, and unknown ones, naming the key', () => {
      for (const storageClass of ['GLACIER', 'DEEP_ARCHIVE', 'COLDLINE']) {
        expect(() => backend.config({ ...sharedMinioSettings(name), storageClass })).toThrow(new RegExp(`storage\\.tiered\\.${name}\\.storageClass`));
      }
      expect(() => backend.config({ ...sharedMinioSettings(name), storageClass: 'GLACIER' })).toThrow(/restored before each read/);
    });
  });

  describe(`${name}: wrong credentials`, () => {
    const store = onSharedMinio({ prefix: 'wrong-credentials', secretKey: 'not-the-secret' });
    afterAll(() => store.close());

    it('is ACCESS_DENIED for every operation, and not retryable', async () => {
      const error = await expectCode(store.put('a/key', Buffer.from('x')), 'ACCESS_DENIED');
      expect(error.retryable).toBe(false);
      await expectCode(store.get('a/key'), 'ACCESS_DENIED');
      await expectCode(store.head('a/key'), 'ACCESS_DENIED');
      await expectCode(store.delete(['a/key', 'b/key']), 'ACCESS_DENIED');
      await expectCode(store.list('a/')[Symbol.asyncIterator]().next(), 'ACCESS_DENIED');
    });
  });
}

/** `size` patterned bytes that call `interrupt` once `atByte` of them were read, then keep coming. */
function interruptedBody(size: number, seed: number, atByte: number, interrupt: () => Promise<void>): Readable {
  let read = 0;
  return Readable.from(
    (async function* () {
      for await (const chunk of patternedStream(size, seed)) {
        if (read < atByte && read + chunk.length >= atByte) await interrupt();
        read += chunk.length;
        yield chunk as Buffer;
      }
    })(),
  );
}
