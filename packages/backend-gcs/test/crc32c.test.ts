import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsColdStore, provider } from '@takhin/backend-gcs';
import { checksumBytes } from '@takhin/core';
import { expectCode, patternedBytes, startCorruptingProxy } from '@takhin/testkit';
import { ensureBucket, gcsServer, testConfig } from './gcs-subject.js';

/**
 * CRC32C reaches the server with the bytes: bytes damaged in transit (by a proxy flipping one
 * byte) never become an object. The CRC32C is ours, from core's native accumulator.
 */
describe('gcs: CRC32C travels with every upload', () => {
  let proxy: Awaited<ReturnType<typeof startCorruptingProxy>>;
  let direct: GcsColdStore;
  let damaged: GcsColdStore;
  beforeAll(async () => {
    proxy = await startCorruptingProxy(gcsServer().endpoint);
    direct = provider.create(testConfig('crc32c')) as GcsColdStore;
    await ensureBucket(direct);
    damaged = provider.create(testConfig('crc32c', { endpoint: proxy.url })) as GcsColdStore;
  });
  afterAll(async () => {
    await damaged.close();
    await direct.close();
    await proxy.close();
  });

  it('a simple upload is refused by the server (crc32c in the metadata part)', async () => {
    const error = await expectCode(damaged.put('simple', patternedBytes(200_000, 1)), 'CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/the server says: .*CRC32C/i);
    expect(proxy.corrupted()).toBeGreaterThan(0);
    expect(await direct.head('simple')).toBeNull();
  });

  it('a resumable upload is refused, and no session stays open', async () => {
    const error = await expectCode(damaged.put('resumable', patternedBytes(3 * 1024 * 1024 + 5, 2)), 'CHECKSUM_MISMATCH');
    // fake-gcs-server ignores x-goog-hash on a final chunk, so the store's check of the CRC32C
    // the server reports for what it assembled catches it (and removes the object); GCS
    // itself would refuse the final chunk.
    expect(error.message).toMatch(/the server stored crc32c .*, the bytes sent have /);
    expect(await direct.head('resumable')).toBeNull();
    expect(await damaged.openUploads()).toEqual([]);
  });

  it('the stored object carries the CRC32C the server computed, equal to ours', async () => {
    const bytes = patternedBytes(3 * 1024 * 1024 + 5, 3);
    const put = await direct.put('intact', bytes);
    expect(put.checksums).toEqual(checksumBytes(bytes));
    expect((await direct.head('intact'))!.checksums).toEqual(checksumBytes(bytes));
    await direct.delete('intact');
  });
});
