import { spawnSync } from 'node:child_process';
import fs, { existsSync, realpathSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_PAGE_SIZE, SqliteMetadataStore, TieringError, createContainer, loadConfig, openTieredStorage, type SegmentRecord } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { collect, expectTieringError, sampleRecord, writeSegment } from '@takhin/testkit';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'takhin-sqlite-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('SqliteMetadataStore', () => {
  it('keeps a commit that resolved even when the process is killed right after (SIGKILL)', async () => {
    const path = join(dir, 'killed.db');
    const records = [sampleRecord(1), sampleRecord(2, { state: 'archiving', policy: 'hot', isArchived: false })];
    const child = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures', 'commit-then-die.mjs'), path, JSON.stringify(records)], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
    });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(child.stdout).toBe('committed\n');
    const store = new SqliteMetadataStore(path);
    expect((await collect(store.records())).flat().sort((a, b) => a.path.localeCompare(b.path))).toEqual(records.sort((a, b) => a.path.localeCompare(b.path)));
    await store.close();
  });

  it('makes commits durable with an fsync of the WAL off the calling thread, one for every commit made while another ran', async () => {
    const path = join(dir, 'group.db');
    const store = new SqliteMetadataStore(path);
    await store.commit([{ put: sampleRecord(100) }]); // opens the file: its own fsyncs are not counted below
    // The real fsync, watched: which descriptor, and what had resolved when each one started and ended.
    const events: string[] = [];
    const synced: number[] = [];
    const realFsync = fs.fsync;
    fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      const n = synced.push(fd);
      events.push(`fsync ${n} start`);
      realFsync(fd, (error) => {
        events.push(`fsync ${n} done`);
        callback(error);
      });
    }) as typeof fs.fsync;
    syncBuiltinESMExports();
    try {
      const commits = Array.from({ length: 20 }, (_, i) => store.commit([{ put: sampleRecord(101 + i) }]).then(() => events.push(`commit ${i} resolved`)));
      await Promise.all(commits);
    } finally {
      fs.fsync = realFsync;
      syncBuiltinESMExports();
    }
    // The first commit started an fsync; the 19 written while it ran share the second.
    expect(synced).toHaveLength(2);
    for (const fd of synced) expect(fs.fstatSync(fd).ino).toBe(statSync(`${path}-wal`).ino);
    expect(events.indexOf('commit 0 resolved')).toBeGreaterThan(events.indexOf('fsync 1 done'));
    expect(events.indexOf('fsync 2 start')).toBeGreaterThan(events.indexOf('fsync 1 done'));
    for (let i = 1; i < 20; i++) expect(events.indexOf(`commit ${i} resolved`)).toBeGreaterThan(events.indexOf('fsync 2 done'));
    expect((await collect(store.records())).flat()).toHaveLength(21);
    await store.close();
  });

  it('refuses every commit after an fsync of its WAL failed, until reopened', async () => {
    const path = join(dir, 'eio.db');
    const store = new SqliteMetadataStore(path);
    await store.commit([{ put: sampleRecord(200) }]);
    let calls = 0;
    const realFsync = fs.fsync;
    fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      calls++;
      process.nextTick(() => callback(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })));
    }) as typeof fs.fsync;
    syncBuiltinESMExports();
    try {
      await expect(store.commit([{ put: sampleRecord(201) }])).rejects.toMatchObject({ code: 'METADATA_FAILURE', message: expect.stringContaining('EIO') });
      await expect(store.commit([{ put: sampleRecord(202) }])).rejects.toMatchObject({ code: 'METADATA_FAILURE', message: expect.stringContaining('until it is reopened') });
      expect(calls).toBe(1);
    } finally {
      fs.fsync = realFsync;
      syncBuiltinESMExports();
    }
    await store.close();
    // Reopened, the file holds what SQLite wrote (201 reached the WAL before its fsync failed), and takes commits again.
    const reopened = new SqliteMetadataStore(path);
    await reopened.commit([{ put: sampleRecord(203) }]);
    expect((await collect(reopened.records())).flat().map((record) => record.path).sort()).toEqual([200, 201, 203].map((n) => sampleRecord(n).path).sort());
    await reopened.close();
  });

  it('does not create or touch its file until first used', async () => {
    const path = join(dir, 'untouched.db');
    const store = new SqliteMetadataStore(path);
    await expect(import('node:fs/promises').then((fs) => fs.stat(path))).rejects.toMatchObject({ code: 'ENOENT' });
    await store.close();
  });

  it('is one file in WAL mode with a schema version', async () => {
    const path = join(dir, 'wal.db');
    const store = new SqliteMetadataStore(path);
    await store.commit([{ put: sampleRecord(3) }]);
    const peek = new DatabaseSync(path);
    expect(peek.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(peek.prepare('PRAGMA user_version').get()).toEqual({ user_version: 3 });
    peek.close();
    await store.close();
  });

  it('refuses a file from a newer release, naming its schema version, and leaves it alone', async () => {
    const path = join(dir, 'future.db');
    const future = new DatabaseSync(path);
    future.exec('CREATE TABLE segments (path TEXT PRIMARY KEY); PRAGMA user_version = 99;');
    future.close();
    // Opened at the first call, not at construction (a locked data dir's file stays untouched).
    const store = new SqliteMetadataStore(path);
    const error = await store.get('orders-0/00000000000000000000.log').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TieringError);
    expect((error as TieringError).code).toBe('METADATA_FAILURE');
    expect((error as Error).message).toMatch(/schema version 99, newer than this release knows \(3\)/);
    const check = new DatabaseSync(path);
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: 99 });
    check.close();
  });

  // Root writes any file whatever its mode, and the tests may run as root: then the file is
  // opened by a child process switched to an unprivileged user (nobody) with setpriv, the user's
  // own case. Another user needs nothing of the kind: a mode of 0444 stops its own writes.
  const root = process.getuid?.() === 0;
  const setpriv = root && spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(root && !setpriv)('refuses at open a file it can read but not write, naming it, rather than failing every commit later', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'takhin-sqlite-ro-'));
    try {
      const data = join(parent, 'data');
      await mkdir(data);
      const path = join(data, '.takhin-tiered.db');
      const writer = new SqliteMetadataStore(path);
      await writer.commit([{ put: sampleRecord(400) }]);
      await writer.close();
      await chmod(path, 0o444);
      const before = await readFile(path);
      const command = [process.execPath, join(import.meta.dirname, 'fixtures', 'open-and-report.mjs'), path];
      if (root) {
        // As a broker running as nobody finds it: its data dir, a file root left behind.
        await chmod(parent, 0o755);
        await chown(data, 65534, 65534);
        command.unshift('setpriv', '--reuid=65534', '--regid=65534', '--clear-groups');
      }
      const child = spawnSync(command[0]!, command.slice(1), { cwd: import.meta.dirname, encoding: 'utf8' });
      expect(child.status, child.stderr).toBe(0);
      const outcome = JSON.parse(child.stdout) as { opened: boolean; code?: string; message?: string };
      expect(outcome).toMatchObject({ opened: false, code: 'METADATA_FAILURE' });
      expect(outcome.message).toContain(`the metadata file ${path} cannot be written (attempt to write a readonly database)`);
      expect(await readFile(path)).toEqual(before);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not SQLite with a clear error', async () => {
    const path = join(dir, 'garbage.db');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, 'this is not a database, just text long enough to have a header'));
    await expect(new SqliteMetadataStore(path).records()[Symbol.asyncIterator]().next()).rejects.toThrow(/cannot open the metadata file .*garbage.db: file is not a database\. The file is damaged: move it/);
  });

  it('names the file, and what to do, when its pages are damaged past the header (a read fails, not the open)', async () => {
    const path = join(dir, 'damaged.db');
    const writer = new SqliteMetadataStore(path);
    await writer.commit(Array.from({ length: 5000 }, (_, i) => ({ put: sampleRecord(10_000 + i) })));
    await writer.close();
    const db = new DatabaseSync(path);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    // A bad disk: 8 KiB in the middle of the table written over.
    const bytes = await readFile(path);
    bytes.fill(0xab, bytes.length / 2, bytes.length / 2 + 8192);
    await writeFile(path, bytes);
    const store = new SqliteMetadataStore(path);
    try {
      const error = await collect(store.records()).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(TieringError);
      expect(error).toMatchObject({ code: 'METADATA_FAILURE' });
      expect((error as Error).message).toMatch(/^cannot read the metadata file .*damaged\.db: database disk image is malformed\. The file is damaged: move it .* aside and run `takhin-tiered rebuild`/);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteMetadataStore reading more than a page', () => {
  /** Records of every shape a row can hold: archived with checksums and indexes, or local with a bare `.log`. */
  function variedRecord(n: number): SegmentRecord {
    if (n % 3 !== 0) {
      const archived = sampleRecord(n, n % 2 === 0 ? { topicId: 'HShgCd_Pq0sIZAZQ3EO_2w' } : {});
      // A `.log` past 2^31 bytes, on every other one.
      return n % 2 === 0 ? archived : { ...archived, size: 2 ** 31 + n, files: { ...archived.files, log: { ...archived.files.log, size: 2 ** 31 + n } } };
    }
    const { checksums: _, archivedAt: __, objectKey: ___, ...local } = sampleRecord(n, { policy: 'hot', isArchived: false, state: 'archiving', version: 2 ** 31 + n });
    return { ...local, files: { log: { size: local.size } } };
  }
  const byPath = (a: SegmentRecord, b: SegmentRecord): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  let path: string;
  let written: SegmentRecord[];
  beforeAll(async () => {
    // 2.5 pages: the first read on the calling thread, the rest on the reading thread.
    path = join(dir, 'large.db');
    written = Array.from({ length: 2.5 * RECORD_PAGE_SIZE }, (_, i) => variedRecord(i));
    const writer = new SqliteMetadataStore(path);
    await writer.commit(written.map((put) => ({ put })));
    await writer.close();
    written.sort(byPath);
  });

  it('returns every record as written, in path order, a page at a time, whole or filtered by topic and partition', async () => {
    const store = new SqliteMetadataStore(path);
    try {
      const pages = await collect(store.records());
      expect(pages.map((page) => page.length)).toEqual([RECORD_PAGE_SIZE, RECORD_PAGE_SIZE, RECORD_PAGE_SIZE / 2]);
      expect(pages.flat()).toEqual(written);
      const filtered = (await collect(store.records({ topic: 'audit.log-v2', partition: 1 }))).flat();
      expect(filtered).toEqual(written.filter((r) => r.topic === 'audit.log-v2' && r.partition === 1));
      expect(filtered.length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it.each(['break', 'abandon'])('stops reading, and lets the process exit, once its caller stops early (%s)', async (how) => {
    // Enough pages that the reading thread is still waiting for room to read more when the caller stops.
    const large = join(dir, 'larger.db');
    if (!existsSync(large)) {
      const writer = new SqliteMetadataStore(large);
      await writer.commit(Array.from({ length: 8 * RECORD_PAGE_SIZE }, (_, i) => ({ put: variedRecord(i) })));
      await writer.close();
    }
    const child = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures', 'read-pages-then-stop.mjs'), large, how], { cwd: import.meta.dirname, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout).toBe(`${how === 'break' ? 'threads 0 more\n' : ''}read ${2 * RECORD_PAGE_SIZE}\n`);
  });

  it('names the file, and what to do, when a page the reading thread reads is damaged, after the pages before it', async () => {
    const damaged = join(dir, 'large-damaged.db');
    await cp(path, damaged);
    const db = new DatabaseSync(damaged);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    // A bad disk: one of the table's leaf pages nine tenths of the way through its keys, past
    // the first page of records, which the calling thread reads, written over.
    const { page_size: pageSize } = db.prepare('PRAGMA page_size').get() as { page_size: number };
    const leaves = db.prepare("SELECT pageno FROM dbstat WHERE name = 'segments' AND pagetype = 'leaf' ORDER BY path").all() as { pageno: number }[];
    db.close();
    const leaf = leaves[Math.floor(leaves.length * 0.9)]!.pageno;
    const bytes = await readFile(damaged);
    bytes.fill(0xab, (leaf - 1) * pageSize, leaf * pageSize);
    await writeFile(damaged, bytes);
    const store = new SqliteMetadataStore(damaged);
    const read: SegmentRecord[] = [];
    try {
      const error = await (async () => {
        for await (const page of store.records()) read.push(...page);
      })().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(TieringError);
      expect(error).toMatchObject({ code: 'METADATA_FAILURE' });
      expect((error as Error).message).toMatch(/^cannot read the metadata file .*large-damaged\.db: database disk image is malformed\. The file is damaged: move it .* aside and run `takhin-tiered rebuild`/);
      expect(read.length).toBeGreaterThanOrEqual(RECORD_PAGE_SIZE);
      expect(read).toEqual(written.slice(0, read.length));
    } finally {
      await store.close();
    }
  });
});

describe('SqliteMetadataStore bound to its data dir', () => {
  /** A data dir under the test's folder, created, and its metadata file's default path. */
  async function dataDir(name: string): Promise<{ dir: string; file: string }> {
    const path = join(dir, name);
    await mkdir(path, { recursive: true });
    return { dir: path, file: join(path, '.takhin-tiered.db') };
  }

  async function opening(store: SqliteMetadataStore): Promise<unknown> {
    try {
      return (await collect(store.records())).flat();
    } finally {
      await store.close();
    }
  }

  it('refuses another data dir at open, naming both and the ways out, and still serves its own', async () => {
    const a = await dataDir('bind-a');
    const b = await dataDir('bind-b');
    const first = new SqliteMetadataStore(a.file, { dataDir: a.dir });
    await first.commit([{ put: sampleRecord(500) }]);
    await first.close();
    const error = await expectTieringError(opening(new SqliteMetadataStore(a.file, { dataDir: b.dir })), 'METADATA_FAILURE');
    const [realA, realB] = [realpathSync(a.dir), realpathSync(b.dir)];
    expect(error.message).toContain(`the metadata file ${a.file} belongs to the data dir ${realA}, not ${realB}`);
    expect(error.message).toContain('storage.tiered.metadata.path');
    expect(error.message).toContain('takhin-tiered rebuild');
    // The same dir under another name is the same dir.
    const alias = join(dir, 'bind-a-alias');
    await symlink(a.dir, alias);
    expect(await opening(new SqliteMetadataStore(a.file, { dataDir: alias }))).toEqual([sampleRecord(500)]);
  });

  it('follows its data dir moved with the file in it, but not to a copy while the original is there', async () => {
    const a = await dataDir('move-a');
    const first = new SqliteMetadataStore(a.file, { dataDir: a.dir });
    await first.commit([{ put: sampleRecord(501) }]);
    await first.close();
    const copy = join(dir, 'move-copy');
    await cp(a.dir, copy, { recursive: true });
    await expectTieringError(opening(new SqliteMetadataStore(join(copy, '.takhin-tiered.db'), { dataDir: copy })), 'METADATA_FAILURE');
    const moved = join(dir, 'move-b');
    await rename(a.dir, moved);
    const file = join(moved, '.takhin-tiered.db');
    expect(await opening(new SqliteMetadataStore(file, { dataDir: moved }))).toEqual([sampleRecord(501)]);
    // Bound to where it is now: the old path, back again, is another data dir.
    await mkdir(a.dir);
    const error = await expectTieringError(opening(new SqliteMetadataStore(file, { dataDir: a.dir })), 'METADATA_FAILURE');
    expect(error.message).toContain(`belongs to the data dir ${realpathSync(moved)}, not ${realpathSync(a.dir)}`);
  });

  it('binds a file from before binding (schema version 1) to the data dir of its next open', async () => {
    const a = await dataDir('old-a');
    const b = await dataDir('old-b');
    const unbound = new SqliteMetadataStore(a.file);
    await unbound.commit([{ put: sampleRecord(502) }]);
    await unbound.close();
    const old = new DatabaseSync(a.file);
    old.exec('DROP TABLE properties; ALTER TABLE segments DROP COLUMN topic_id; PRAGMA user_version = 1;');
    old.close();
    expect(await opening(new SqliteMetadataStore(a.file, { dataDir: a.dir }))).toEqual([sampleRecord(502)]);
    const peek = new DatabaseSync(a.file);
    expect(peek.prepare('PRAGMA user_version').get()).toEqual({ user_version: 3 });
    peek.close();
    await expectTieringError(opening(new SqliteMetadataStore(a.file, { dataDir: b.dir })), 'METADATA_FAILURE');
  });

  it('brings a file from before topic ids (schema version 2) forward: its records come back whole, without an id until one is written', async () => {
    const a = await dataDir('before-ids');
    const before = new SqliteMetadataStore(a.file, { dataDir: a.dir });
    await before.commit([{ put: sampleRecord(504) }, { put: sampleRecord(506) }]);
    await before.close();
    const old = new DatabaseSync(a.file);
    old.exec('ALTER TABLE segments DROP COLUMN topic_id; PRAGMA user_version = 2;');
    old.close();
    expect(await opening(new SqliteMetadataStore(a.file, { dataDir: a.dir }))).toEqual([sampleRecord(504), sampleRecord(506)]);
    const withId = { ...sampleRecord(504), topicId: 'HShgCd_Pq0sIZAZQ3EO_2w', version: 2 };
    const store = new SqliteMetadataStore(a.file, { dataDir: a.dir });
    await store.commit([{ put: withId, ifVersion: 1 }]);
    await store.close();
    expect(await opening(new SqliteMetadataStore(a.file, { dataDir: a.dir }))).toEqual([withId, sampleRecord(506)]);
  });
});

describe('two data dirs given one metadata file', () => {
  const DAY = 24 * 3_600_000;

  /** Three segments of `orders-0` (two closed, a month old), as both brokers have. */
  async function logDir(path: string): Promise<void> {
    let baseOffset = 0n;
    for (let i = 0; i < 3; i++) {
      const segment = await writeSegment(path, { topic: 'orders', partition: 0, baseOffset, logBytes: 64 * 1024, recordBytes: 500, recordsPerBatch: 4, mtime: new Date(Date.now() - (40 - i) * DAY) });
      baseOffset = segment.nextOffset;
    }
  }

  function open(dataDir: string, tiered: Record<string, unknown> = {}) {
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, 'auto.archive.enabled': false, ...tiered } } });
    return openTieredStorage(createContainer(config, [fsProvider]));
  }

  it('refuses the second at open, and the first keeps its archived segments readable', async () => {
    const a = join(dir, 'shared-a');
    const b = join(dir, 'shared-b');
    await logDir(a);
    await logDir(b);
    let first = await open(a);
    expect(await first.runCycle()).toMatchObject({ archived: 2, failed: 0 });
    await first.close();
    await expectTieringError(open(b, { 'metadata.path': join(a, '.takhin-tiered.db') }), 'METADATA_FAILURE', /belongs to the data dir .*shared-a, not .*shared-b/);
    first = await open(a);
    try {
      expect(first.getStats()).toMatchObject({ totalSegments: 3, archivedSegments: 2 });
      expect((await first.readAt('orders', 0, 0)).batches.length).toBeGreaterThan(0);
    } finally {
      await first.close();
    }
  });
});
