import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_CONFIG, BACKEND_PROVIDER, BACKEND_TARGET, COLD_STORE, ConfigError, RETRY_POLICY, STORE_METRICS, TransferPool, createContainer, type ColdStore } from '@takhin/core';
import { FsColdStore, provider as fsProvider } from '@takhin/backend-fs';
import { readAll } from '@takhin/testkit';

describe('createContainer with the FS provider', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'takhin-di-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('resolves COLD_STORE as the chosen backend, the same stack provider.create builds, once per container', async () => {
    const container = createContainer({ backend: 'fs', fs: { root } }, [fsProvider]);
    const store = container.resolve(COLD_STORE);
    expect(store).toBeInstanceOf(FsColdStore);
    // Its requests are counted in the container's registry.
    expect((store as FsColdStore).metrics).toBe(container.resolve(STORE_METRICS));
    expect(container.resolve(COLD_STORE)).toBe(store);
    expect(container.resolve(BACKEND_PROVIDER)).toBe(fsProvider);
    expect(container.resolve(BACKEND_CONFIG)).toEqual({ root });
    expect(container.resolve(BACKEND_TARGET)).toEqual({ module: fsProvider.module, config: { root } });
    // A RETRY_POLICY registered on the container reaches the pool's workers as its numbers (functions cannot cross).
    container.register(RETRY_POLICY, { useValue: { maxAttempts: 2, maxDelayMs: 50, sleep: async () => {} } });
    expect(container.resolve(BACKEND_TARGET)).toEqual({ module: fsProvider.module, config: { root }, retry: { maxAttempts: 2, maxDelayMs: 50 } });

    await store.put('segments/orders-0/00000000000000000000.log', Buffer.from('records'));
    expect((await readAll(await store.get('segments/orders-0/00000000000000000000.log'))).toString()).toBe('records');
  });

  it('validates the backend section when the container is built, naming the key', () => {
    expect(() => createContainer({ backend: 'fs', fs: { root, rot: 'x' } }, [fsProvider])).toThrow(ConfigError);
    expect(() => createContainer({ backend: 'fs', fs: { root, rot: 'x' } }, [fsProvider])).toThrow(/"storage.tiered.fs.rot": unknown key \(did you mean "root"\?\)/);
    expect(() => createContainer({ backend: 'fs', fs: {} }, [fsProvider])).toThrow(/"storage.tiered.fs.root": is required/);
  });

  it('names the available backends when the chosen one is unknown', () => {
    expect(() => createContainer({ backend: 's4', fs: { root } }, [fsProvider])).toThrow(/"storage.tiered.backend": unknown backend "s4"; available: fs/);
  });

  it('lets a library user register their own ColdStore instead', async () => {
    const container = createContainer({ backend: 'fs', fs: { root } }, [fsProvider]);
    const mine = new FsColdStore({ root: join(root, 'mine') });
    container.register<ColdStore>(COLD_STORE, { useValue: mine });
    expect(container.resolve(COLD_STORE)).toBe(mine);
    // Containers are children: one user's registration never leaks into another's.
    const other = createContainer({ backend: 'fs', fs: { root } }, [fsProvider]);
    expect(other.resolve(COLD_STORE)).not.toBe(mine);
  });

  it("counts the store's requests, and those of a TransferPool given STORE_METRICS, in one registry", async () => {
    const container = createContainer({ backend: 'fs', fs: { root } }, [fsProvider]);
    const metrics = container.resolve(STORE_METRICS);
    expect(container.resolve(STORE_METRICS)).toBe(metrics);
    expect(createContainer({ backend: 'fs', fs: { root } }, [fsProvider]).resolve(STORE_METRICS)).not.toBe(metrics);
    await container.resolve(COLD_STORE).put('metrics/direct', Buffer.from('abc'));
    const file = join(root, 'local-segment');
    await writeFile(file, Buffer.alloc(5000, 1));
    const pool = new TransferPool({ maxThreads: 1, metrics });
    try {
      await pool.uploadFile(file, 'metrics/pooled', container.resolve(BACKEND_TARGET));
    } finally {
      await pool.close();
    }
    const puts = metrics.snapshot().requests.find((s) => s.backend === 'fs' && s.operation === 'putObject');
    expect(puts?.requests).toBe(2);
    expect(metrics.snapshot().bytes).toEqual([{ backend: 'fs', up: 3 + 5000, down: 0 }]);
  });
});
