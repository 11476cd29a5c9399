import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'minio';
import { parseMinioConfig, MinioColdStore, type MinioConfig } from '@takhin/backend-minio';
import { expectCode, patternedStream, PrivateMinio, TcpProxy } from '@takhin/testkit';
import { ensureBucket, openUploads, rawClient } from './minio-server.js';

describe('minio: the server killed in the middle of an upload', () => {
  let minio: PrivateMinio;
  let config: MinioConfig;
  let client: Client;
  beforeAll(async () => {
    minio = await PrivateMinio.start();
    config = parseMinioConfig({
      bucket: 'crash',
      prefix: 'segments',
      region: minio.region,
      endpoint: minio.endpoint,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      partSizeMb: 5,
      queueSize: 2,
    });
    client = rawClient(config);
    await ensureBucket(client, config.bucket);
  });
  afterAll(async () => {
    await minio?.destroy();
  });

  it('fails UNAVAILABLE; after a restart nothing partial is visible and no upload stays open', async () => {
    const store = new MinioColdStore(config);
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
    const store = new MinioColdStore({ ...config, endpoint: proxy.endpoint });
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
    const uploadID = await client.initiateNewMultipartUpload(config.bucket, 'segments/dead/writer.log', {});
    await client.uploadPart({ bucketName: config.bucket, objectName: 'segments/dead/writer.log', uploadID, partNumber: 1, headers: {} }, Buffer.alloc(1024));
    const store = new MinioColdStore(config);
    // Young uploads may belong to a live writer and are left alone.
    expect(await store.abortStaleUploads(60 * 60 * 1000)).toBe(0);
    expect(await openUploads(client, config.bucket, 'segments/')).toHaveLength(1);
    expect(await store.abortStaleUploads(0)).toBe(1);
    expect(await openUploads(client, config.bucket, 'segments/')).toEqual([]);
    await store.close();
  });
});
