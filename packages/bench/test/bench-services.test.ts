import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBenchBackend } from '../src/bench-backend.js';
import { BenchServices, REPO_ROOT } from '../src/bench-services.js';

/** Where the MinIO that `scripts/services` runs keeps a deleted object's files until its sweep. */
const MINIO_TRASH = join(REPO_ROOT, '.services/minio/data/.minio.sys/tmp/.trash');

describe('BenchServices.trim', () => {
  it('frees what MinIO keeps of deleted objects, which its own 5-minute sweep has not reached', async () => {
    const backend = await openBenchBackend('minio', {});
    try {
      const key = `${backend.runPrefix}/trimmed`;
      await backend.store.put(key, Buffer.alloc(1024 * 1024, 7), { size: 1024 * 1024 });
      await backend.store.delete(key);
      const before = await readdir(MINIO_TRASH);
      expect(before.length).toBeGreaterThan(0);

      await new BenchServices().trim('minio');

      // Other suites may delete meanwhile: only what was there before must be gone.
      const after = new Set(await readdir(MINIO_TRASH));
      expect(before.filter((entry) => after.has(entry))).toEqual([]);
      expect(await backend.store.head(key)).toBeNull();
    } finally {
      await backend.cleanup();
    }
  });
});

describe('BenchServices.restart', () => {
  it('refuses to restart, and so to empty, a server it did not start', async () => {
    // The Azurite the test run started is running; this bench found it so.
    const services = new BenchServices();
    expect(await services.isRunning('azurite')).toBe(true);
    expect(services.startedHere('azurite')).toBe(false);
    await expect(services.restart('azurite')).rejects.toThrow('azurite was running before the bench started: not restarting it');
    expect(await services.isRunning('azurite')).toBe(true);
  });
});
