import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsColdStore, provider } from '@takhin/backend-gcs';
import { checksumBytes, uploadLocalFile } from '@takhin/core';
import { expectCode, patternedBytes, startAlteringProxy, startCorruptingProxy } from '@takhin/testkit';
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

  describe('checksums declared up front', () => {
    const size = 3 * 1024 * 1024 + 5;
    const bytes = patternedBytes(size, 4);
    const checksums = checksumBytes(bytes);
    it('the store asks for them above its memory bound', () => {
      expect(direct.capabilities.checksumsFirstFrom).toBe(direct.capabilities.memoryBoundBytes! + 1);
    });

    it('a resumable upload is then created by its one streamed request, SHA-256 included (no finalize, no metadata update)', async () => {
      const recorder = await startAlteringProxy(gcsServer().endpoint, {});
      const recorded = provider.create(testConfig('crc32c', { endpoint: recorder.url }));
      const requests = () => recorder.requests.splice(0).map(({ method, path }) => `${method} ${path.startsWith('/upload/') ? 'upload' : 'object'}`);
      try {
        await recorded.put('first', bytes, { size, checksums });
        expect(requests()).toEqual(['POST upload', 'PUT upload']);
        expect((await direct.head('first'))!.checksums).toEqual(checksums);
        // Without them: the last byte goes with the CRC32C, and the SHA-256 is added after.
        await recorded.put('after', bytes, { size });
        expect(requests()).toEqual(['POST upload', 'PUT upload', 'PUT upload', 'PATCH object']);
        expect((await direct.head('after'))!.checksums).toEqual(checksums);
      } finally {
        await recorded.close();
        await recorder.close();
        await direct.delete(['first', 'after']);
      }
    });

    it('bytes damaged in transit are refused by the server itself, and no session stays open', async () => {
      const error = await expectCode(damaged.put('declared-damaged', bytes, { size, checksums }), 'CHECKSUM_MISMATCH');
      expect(error.message).toMatch(/the server says: .*CRC32C/i);
      expect(await direct.head('declared-damaged')).toBeNull();
      expect(await damaged.openUploads()).toEqual([]);
    });

    it('a declared SHA-256 that does not match fails before the last byte is sent: no object', async () => {
      const wrong = { crc32c: checksums.crc32c, sha256: checksumBytes(Buffer.from('else')).sha256 };
      await expectCode(direct.put('declared-wrong', bytes, { size, checksums: wrong }), 'CHECKSUM_MISMATCH');
      expect(await direct.head('declared-wrong')).toBeNull();
      expect(await direct.openUploads()).toEqual([]);
    });

    it('uploadLocalFile hashes a file that large first and declares both', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'takhin-gcs-first-'));
      const recorder = await startAlteringProxy(gcsServer().endpoint, {});
      const recorded = provider.create(testConfig('crc32c', { endpoint: recorder.url }));
      try {
        await writeFile(join(dir, 'segment.log'), bytes);
        const stored = await uploadLocalFile(recorded, join(dir, 'segment.log'), 'from-file');
        expect(stored.checksums).toEqual(checksums);
        expect(recorder.requests.map(({ method }) => method)).toEqual(['POST', 'PUT']);
        expect((await direct.head('from-file'))!.checksums).toEqual(checksums);
      } finally {
        await recorded.close();
        await recorder.close();
        await direct.delete('from-file');
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
