import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InMemoryMetadataStore, SqliteMetadataStore } from '@takhin/core';
import { describeMetadataStoreContract } from '@takhin/testkit';

describeMetadataStoreContract('memory', { open: () => new InMemoryMetadataStore() });

const dirs: string[] = [];
describeMetadataStoreContract('sqlite', {
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'takhin-sqlite-'));
    dirs.push(dir);
    // Bound to its data dir, as createMetadataStore makes it.
    return new SqliteMetadataStore(join(dir, '.takhin-tiered.db'), { dataDir: dir });
  },
  async reopen(previous) {
    const path = (previous as SqliteMetadataStore).path;
    await previous.close();
    return new SqliteMetadataStore(path, { dataDir: dirname(path) });
  },
  async cleanup() {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  },
});
