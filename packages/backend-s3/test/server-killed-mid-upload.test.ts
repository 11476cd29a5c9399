import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Config, S3ColdStore, type S3Config } from '@takhin/backend-s3';
import { expectCode, patternedStream, PrivateMinio, TcpProxy } from '@takhin/testkit';
import { ensureBucket, openUploads, rawClient } from './minio-s3.js';

describe('s3: the server killed in the middle of an upload', () => {
  let minio: PrivateMinio;
  let config: S3Config;
  let client: S3Client;
  beforeAll(async () => {
    minio = await PrivateMinio.start();
    config = parseS3Config({
      bucket: 'crash',
      prefix: 'segments',
      region: minio.region,
      endpoint: minio.endpoint,
      forcePathStyle: true,
      accessKeyId: minio.accessKey,
      secretAccessKey: minio.secretKey,
      partSizeMb: 5,
      queueSize: 2,
    });
    client = rawClient(config);
    await ensureBucket(client, config.bucket);
  });
  afterAll(async () => {
    client?.destroy();
    await minio?.destroy();
  });

  it('fails UNAVAILABLE; after a restart nothing partial is visible and no upload stays open', async () => {
    const store = new S3ColdStore(config);
    const size = 8 * store.partSize;
    // SIGKILL the server once two and a half parts have been read, then keep feeding the put.
    let read = 0;
    const body = Readable.from(
      (async function* () {
        for await (const chunk of patternedStream(size, 7)) {
          if (read < 2.5 * store.partSize && read + chunk.length >= 2.5 * store.partSize) await minio.kill();
          read += chunk.length;
          yield chunk as Buffer;
        }
      })(),
    );
    const error = await expectCode(store.put('orders-0/00000000000000000000.log', body, { size }), 'UNAVAILABLE');
    expect(error.retryable).toBe(true);

    await minio.restart();
    expect(await store.head('orders-0/00000000000000000000.log')).toBeNull();
    // MinIO drops the staged parts of an upload it was receiving when killed; a server that
    // keeps them gets the failed abort retried by the store's next put (see the next case).
    await store.put('orders-0/after-restart', Buffer.from('x'));
    expect(await openUploads(client, config.bucket, 'segments/')).toEqual([]);
    expect(await store.head('orders-0/00000000000000000000.log')).toBeNull();
    await store.delete('orders-0/after-restart');
    await store.close();
  });

  it('an upload whose abort failed while the server was unreachable is aborted on the next put', async () => {
    const proxy = new TcpProxy(minio.port);
    await proxy.open();
    const store = new S3ColdStore({ ...config, endpoint: proxy.endpoint });
    const size = 8 * store.partSize;
    let read = 0;
    const body = Readable.from(
      (async function* () {
        for await (const chunk of patternedStream(size, 8)) {
          if (read < 2.5 * store.partSize && read + chunk.length >= 2.5 * store.partSize) await proxy.cut();
          read += chunk.length;
          yield chunk as Buffer;
        }
      })(),
    );
    await expectCode(store.put('orders-1/00000000000000000000.log', body, { size }), 'UNAVAILABLE');
    // The server never lost the upload; only the store lost its way to it.
    expect(await openUploads(client, config.bucket, 'segments/')).toHaveLength(1);
    await proxy.open();
    await store.put('orders-1/after-partition', Buffer.from('x'));
    expect(await openUploads(client, config.bucket, 'segments/')).toEqual([]);
    expect(await store.head('orders-1/00000000000000000000.log')).toBeNull();
    await store.delete('orders-1/after-partition');
    await store.close();
    await proxy.cut();
  });

  it('abortStaleUploads clears uploads left open by a process that died', async () => {
    // A writer that died between two parts: its store instance, and its memory, are gone.
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: 'segments/dead/writer.log' }));
    await client.send(new UploadPartCommand({ Bucket: config.bucket, Key: 'segments/dead/writer.log', UploadId, PartNumber: 1, Body: Buffer.alloc(1024) }));
    const store = new S3ColdStore(config);
    // Young uploads may belong to a live writer and are left alone.
    expect(await store.abortStaleUploads(60 * 60 * 1000)).toBe(0);
    expect(await openUploads(client, config.bucket, 'segments/')).toHaveLength(1);
    expect(await store.abortStaleUploads(0)).toBe(1);
    expect(await openUploads(client, config.bucket, 'segments/')).toEqual([]);
    await store.close();
  });
});
