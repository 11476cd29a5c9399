import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinioColdStore } from '@takhin/backend-minio';
import { patternedChecksums, patternedStream } from '@takhin/testkit';
import { ensureBucket, minioConfig, rawClient } from './minio-server.js';

describe('minio: checksums of multipart uploads', () => {
  const config = minioConfig({ prefix: `multipart-checksums-${process.pid}` });
  const store = new MinioColdStore(config);
  beforeAll(async () => {
    const client = rawClient(config);
    await ensureBucket(client, config.bucket);
  });
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
