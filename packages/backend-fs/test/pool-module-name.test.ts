import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferPool, checksumBytes } from '@takhin/core';
import { FsColdStore } from '@takhin/backend-fs';
import { readAll } from '@takhin/testkit';

// An application names its backend by package ("@takhin/backend-fs"); @takhin/core cannot see
// backend packages in a strict (pnpm) layout, so the pool resolves the name from the
// application's working directory. This package's own folder stands in for the application.
describe('TransferPool with a backend named by package', () => {
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const previousCwd = process.cwd();
  let work: string;
  let pool: TransferPool;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'takhin-pool-name-'));
    process.chdir(packageDir);
    pool = new TransferPool({ maxThreads: 1 });
  });
  afterAll(async () => {
    process.chdir(previousCwd);
    await pool.close();
    await rm(work, { recursive: true, force: true });
  });

  it('uploads through "@takhin/backend-fs" resolved from the working directory', async () => {
    const root = join(work, 'cold');
    const file = join(work, 'segment.log');
    const bytes = Buffer.from('records by name');
    await writeFile(file, bytes);
    const uploaded = await pool.uploadFile(file, 'orders-0/00000000000000000000.log', { module: '@takhin/backend-fs', config: { root } });
    expect(uploaded.checksums).toEqual(checksumBytes(bytes));
    const store = new FsColdStore({ root });
    expect(await readAll(await store.get('orders-0/00000000000000000000.log'))).toEqual(bytes);
  });

  it('names the module it cannot resolve', async () => {
    await expect(pool.uploadFile(join(work, 'segment.log'), 'k', { module: '@takhin/backend-nope', config: {} })).rejects.toThrow(
      /cannot resolve backend module "@takhin\/backend-nope"/,
    );
  });
});
