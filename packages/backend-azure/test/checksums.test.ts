import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureColdStore, provider } from '@takhin/backend-azure';
import { CHECKSUM_METADATA_KEYS, checksumBytes } from '@takhin/core';
import { expectCode, patternedBytes, startCorruptingProxy } from '@takhin/testkit';
import { azurite, testConfig } from './azure-subject.js';

/**
 * Every request that carries bytes carries their MD5 (Content-MD5), which Azurite checks:
 * bytes damaged in transit (a proxy flips one byte) never become a blob.
 */
describe('azure: block checksums travel with the bytes', () => {
  let proxy: Awaited<ReturnType<typeof startCorruptingProxy>>;
  let direct: AzureColdStore;
  let damaged: AzureColdStore;
  beforeAll(async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const upstream = new URL(accountUrl);
    proxy = await startCorruptingProxy(upstream.origin);
    direct = provider.create(testConfig('checksums')) as AzureColdStore;
    await direct.driver.container.createIfNotExists();
    damaged = provider.create(
      testConfig('checksums', { connectionString: undefined, accountUrl: `${proxy.url}${upstream.pathname}`, accountName, accountKey }),
    ) as AzureColdStore;
  });
  afterAll(async () => {
    await damaged.close();
    await direct.close();
    await proxy.close();
  });

  it('a single Put Blob is refused (Md5Mismatch)', async () => {
    const error = await expectCode(damaged.put('single', patternedBytes(200_000, 1)), 'CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/Md5Mismatch/);
    expect(await direct.head('single')).toBeNull();
  });

  it('a staged block is refused, and no uncommitted blocks stay behind', async () => {
    const error = await expectCode(damaged.put('staged', patternedBytes(3 * 1024 * 1024 + 5, 2)), 'CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/Md5Mismatch/);
    expect(proxy.corrupted()).toBeGreaterThan(1);
    expect(await direct.head('staged')).toBeNull();
    expect(await direct.openUploads()).toEqual([]);
  });

  it('both checksums are stored as blob metadata at commit, under Azure-safe names', async () => {
    const bytes = patternedBytes(3 * 1024 * 1024 + 5, 3);
    await direct.put('intact', bytes, { metadata: { 'base-offset': '42', '2nd': 'x' } });
    const raw = await direct.driver.container.getBlockBlobClient('checksums/intact').getProperties();
    const expected = checksumBytes(bytes);
    expect(raw.metadata).toMatchObject({ takhin_crc32c: expected.crc32c, takhin_sha256: expected.sha256, base_offset: '42', _2nd: 'x' });
    expect(CHECKSUM_METADATA_KEYS.crc32c.replace('-', '_')).toBe('takhin_crc32c');
    expect(await direct.head('intact')).toMatchObject({ checksums: expected, metadata: { 'base-offset': '42', '2nd': 'x' } });
    await direct.delete('intact');
  });
});
