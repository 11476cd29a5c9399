import 'reflect-metadata';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLD_STORE, ColdStoreError, ConfigError, TRANSFER_WORKERS, createContainer, loadConfig, openTieredStorage, parseConfigObject, type BackendProvider } from '@takhin/core';

/** A backend that is never used: opening reads the data dir and the metadata, not the store. */
const unused: BackendProvider = {
  name: 'fs',
  module: import.meta.url,
  parseConfig: (raw) => parseConfigObject('storage.tiered.fs', raw, { root: { type: 'string' } }),
  create: () => {
    throw new Error('not used');
  },
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-data-dir-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A cold store that never answers: opening goes on without it (it checks only whose prefix it is, and postpones that). */
const unreachable = {
  backend: 'fs',
  get: (key: string) => Promise.reject(new ColdStoreError('UNAVAILABLE', `fs: unreachable for "${key}"`, { backend: 'fs', key })),
  close: async () => {},
};

/** Opens tiered storage on `dataDir` (SQLite metadata, the default) with a stub store and pool. */
function open(dataDir: string) {
  const container = createContainer(loadConfig({ storage: { data: { dir: dataDir } } }), [unused]);
  container.register(COLD_STORE, { useValue: unreachable as never });
  container.register(TRANSFER_WORKERS, { useValue: { close: async () => {} } as never });
  return openTieredStorage(container);
}

async function openError(dataDir: string): Promise<ConfigError> {
  const error: unknown = await open(dataDir).then(
    async (tiered) => {
      await tiered.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('storage.data.dir when opened', () => {
  it('is refused when it does not exist, and nothing is created', async () => {
    const root = join(work, 'missing');
    await mkdir(root);
    const error = await openError(join(root, 'no', 'such', 'dir'));
    expect(error.path).toBe('storage.data.dir');
    expect(error.message).toMatch(/"storage.data.dir": no such folder: ".*\/no\/such\/dir"/);
    expect(await readdir(root)).toEqual([]);
  });

  it('is refused when it is a file, naming the key rather than failing in mkdir', async () => {
    const file = join(work, 'afile');
    await writeFile(file, 'not a folder');
    const error = await openError(file);
    expect(error.path).toBe('storage.data.dir');
    expect(error.message).toMatch(/"storage.data.dir": ".*\/afile" is a file, not a folder/);
    expect(await readdir(work)).not.toContain('afile-tiered');
  });

  it('is refused when a folder on its path is a file', async () => {
    const error = await openError(join(work, 'afile', 'data'));
    expect(error.message).toMatch(/"storage.data.dir": no such folder/);
  });

  it('opens when it exists (the broker log dir), even empty', async () => {
    const dataDir = join(work, 'kafka-logs');
    await mkdir(dataDir);
    const tiered = await open(dataDir);
    try {
      expect(tiered.getStats().totalSegments).toBe(0);
    } finally {
      await tiered.close();
    }
  });
});
