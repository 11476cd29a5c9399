import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryMetadataStore, SqliteMetadataStore } from '@takhin/core';
import { describeMetadataStoreContract } from '@takhin/testkit';

describeMetadataStoreContract('memory', { open: () => new InMemoryMetadataStore() });

const dirs: string[] = [];
describeMetadataStoreContract('sqlite', {
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'takhin-sqlite-'));
    dirs.push(dir);
    return new SqliteMetadataStore(join(dir, '.takhin-tiered.db'));
  },
  async reopen(previous) {
    const path = (previous as SqliteMetadataStore).path;
    await previous.close();
    return new SqliteMetadataStore(path);
  },
  async cleanup() {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  },
});
