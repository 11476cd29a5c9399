import { execFile } from 'node:child_process';
import { lstat, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_KEY, CLOCK, COLD_STORE, ColdStoreError, PROTOCOL_OBSERVER, RETRY_POLICY, createContainer, loadConfig, openTieredStorage, type ColdStore, type ProtocolStep, type TieredStorage } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { provider as s3Provider } from '@takhin/backend-s3';
import { TcpProxy, writeSegment } from '@takhin/testkit';
import { CRASH_BACKENDS } from './fixtures/crash-suite.js';

// The protocols when something other than a crash gets in the way: the cold store not answering
// for a moment, a cycle's plan overtaken by a manual operation, a read-only folder, a full disk.

const HOUR = 3_600_000;
let work: string;
let runs = 0;
const opened: TieredStorage[] = [];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-faults-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

interface Options {
  tiered?: Record<string, unknown>;
  /** Hours since each segment's last write; the last one is the active segment. */
  ages?: number[];
  clock?: { now(): number };
  observer?: (step: ProtocolStep, path: string) => unknown;
  /** Replaces methods of the cold store the protocols use on the calling thread. */
  faults?: Partial<Record<keyof ColdStore, unknown>>;
  /** A data dir an earlier `broker()` wrote, to open again (a restart) rather than a new one. */
  dataDir?: string;
}

/** Four segments of one partition on the embedded default, opened through the DI wiring. */
async function broker(options: Options = {}) {
  const dataDir = options.dataDir ?? join(work, `broker-${runs++}`, 'data');
  const paths: string[] = [];
  for (const [i, age] of (options.dataDir ? [] : (options.ages ?? [300, 299, 298, 1])).entries()) {
    const segment = await writeSegment(dataDir, { topic: 'faults', partition: 0, baseOffset: BigInt(i * 1000), logBytes: 200 * 1024 });
    const time = new Date(Date.now() - age * HOUR);
    for (const file of Object.values(segment.files)) await utimes(file, time, time);
    paths.push(segment.segmentPath);
  }
  const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...options.tiered } } }), [fsProvider]);
  if (options.clock) container.register(CLOCK, { useValue: options.clock });
  if (options.observer) container.register(PROTOCOL_OBSERVER, { useValue: { reached: options.observer } });
  const faults = options.faults ?? {};
  const store = container.resolve<ColdStore>(COLD_STORE);
  const faulty = new Proxy(store, {
    get(target, name) {
      const value = faults[name as keyof ColdStore] ?? Reflect.get(target, name, target);
      return typeof value === 'function' && !(name in faults) ? value.bind(target) : value;
    },
  });
  container.register(COLD_STORE, { useValue: faulty });
  const tiered = await openTieredStorage(container);
  opened.push(tiered);
  return { tiered, dataDir, paths, faults, store };
}

describe('the protocols meeting faults other than a crash', () => {
  it('a cold store that does not answer during a refresh leaves an archived segment archived', async () => {
    const { tiered, paths, faults } = await broker({
      observer: (step) => {
        if (step === 'archive:committed') throw new Error('injected failure before the local deletes');
      },
    });
    const path = paths[0]!;
    await expect(tiered.archiveSegment(path)).rejects.toThrow(/injected failure/);
    // Cold with its local files still there: each refresh verifies the remote copy, then deletes them.
    faults.head = (key: string) => Promise.reject(new ColdStoreError('UNAVAILABLE', `fs: service unavailable for "${key}" (injected)`, { backend: 'fs', key }));
    await expect(tiered.refresh()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
    expect(tiered.lastReconciliation.problems).toEqual([]);
    delete faults.head;
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ localCopiesDeleted: 1, problems: [] });
    expect((await tiered.restoreSegment(path)).outcome).toBe('restored');
  });

  it("a cycle's retier planned before a manual archive of the same segment is dropped, not applied over it", async () => {
    const clock = { time: Date.now(), now: () => clock.time };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const cycleHolds = new Promise<void>((resolve) => (holding = resolve));
    const { tiered, paths } = await broker({
      tiered: { 'warm.age.hours': 150, 'cold.age.hours': 200, 'archive.concurrency': 1 },
      ages: [300, 299, 100, 1],
      clock,
      // The cycle's first archive waits here, with the retier of the third segment queued behind it.
      observer: async (step, path) => {
        if (step === 'archive:intent-recorded' && path === paths[0]) {
          holding();
          await held;
        }
      },
    });
    const third = paths[2]!;
    expect(tiered.getSegment(third).policy).toBe('hot');
    clock.time += 60 * HOUR;
    expect(tiered.plan({ changesOnly: true }).find((step) => step.path === third)).toMatchObject({ action: 'retier', to: 'warm' });
    const cycle = tiered.runCycle();
    await cycleHolds;
    expect((await tiered.archiveSegment(third)).segment).toMatchObject({ policy: 'cold', isArchived: true });
    release();
    expect(await cycle).toMatchObject({ archived: 2, retiered: 0, failed: 0 });
    expect(tiered.getSegment(third)).toMatchObject({ policy: 'cold', isArchived: true });
    expect((await tiered.restoreSegment(third)).outcome).toBe('restored');
  });

  it('an archive that finishes while a rebuild reads the manifests is not forgotten by that rebuild', async () => {
    const { tiered, paths, faults, store } = await broker();
    await tiered.archiveSegment(paths[0]!);
    // The rebuild's read of the one manifest it listed waits until the second archive is done.
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const rebuildReads = new Promise<void>((resolve) => (reading = resolve));
    faults.get = (key: string, options?: object) => {
      if (key !== `${paths[0]}.manifest.json`) return store.get(key, options);
      delete faults.get;
      reading();
      return done.then(() => store.get(key, options));
    };
    const rebuild = tiered.rebuildFromColdStore();
    await rebuildReads;
    await tiered.archiveSegment(paths[1]!);
    release();
    expect(await rebuild).toMatchObject({ manifests: 1, dropped: 0, unarchived: 0, problems: [] });
    expect(tiered.getSegment(paths[1]!)).toMatchObject({ policy: 'cold', isArchived: true });
    expect((await tiered.restoreSegment(paths[1]!)).outcome).toBe('restored');
  });

  it('a restore that finishes while a rebuild runs is not recorded cold by that rebuild, nor its files deleted', async () => {
    const { tiered, dataDir, paths, faults, store } = await broker();
    const [restored, unbacked] = [paths[0]!, paths[1]!];
    await tiered.archiveSegment(restored);
    await tiered.archiveSegment(unbacked);
    // The second one's manifest is gone, so the rebuild asks again for it, after reading the data dir: that read waits.
    await store.delete(`${unbacked}.manifest.json`);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let asking!: () => void;
    const rebuildAsks = new Promise<void>((resolve) => (asking = resolve));
    faults.get = (key: string, options?: object) => {
      if (key !== `${unbacked}.manifest.json`) return store.get(key, options);
      delete faults.get;
      asking();
      return held.then(() => store.get(key, options));
    };
    const rebuild = tiered.rebuildFromColdStore();
    await rebuildAsks;
    expect((await tiered.restoreSegment(restored)).outcome).toBe('restored');
    release();
    expect(await rebuild).toMatchObject({ manifests: 1, dropped: 1 });
    // Before: the rebuild wrote the record it had read (cold, not on local disk) over the restore's,
    // and its own refresh then deleted the restored files.
    expect(tiered.getSegment(restored)).toMatchObject({ policy: 'hot', isArchived: true, state: 'idle' });
    expect((await lstat(join(dataDir, restored))).isFile()).toBe(true);
  });

  it('a refresh reconciling an interrupted archive holds the segment: an archive asked meanwhile waits, and does not commit a manifest whose objects the refresh deleted', async () => {
    let failVerified = true;
    const first = await broker({
      observer: (step) => {
        if (step === 'archive:files-verified' && failVerified) throw new Error('injected failure before the manifest');
      },
    });
    const path = first.paths[0]!;
    await expect(first.tiered.archiveSegment(path)).rejects.toThrow(/injected failure/);
    failVerified = false;
    await first.tiered.close();
    // Opened while the store does not answer: the interrupted archive is postponed, for the first refresh that reaches it.
    const down = (key: string) => Promise.reject(new ColdStoreError('UNAVAILABLE', `fs: service unavailable for "${key}" (injected)`, { backend: 'fs', key }));
    const { tiered, faults, store } = await broker({ dataDir: first.dataDir, faults: { get: down } });
    expect(tiered.getSegment(path).state).toBe('archiving');
    expect(tiered.lastReconciliation.postponed).toEqual([expect.stringMatching(/^faults-0\/00000000000000000000\.log: .*unavailable/)]);
    // The refresh's read of the manifest (there is none: the archive rolls back) waits.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const refreshReads = new Promise<void>((resolve) => (reading = resolve));
    faults.get = (key: string, options?: object) => {
      if (key === CLAIM_KEY) return store.get(key, options);
      delete faults.get;
      reading();
      return held.then(() => store.get(key, options));
    };
    const refresh = tiered.refresh();
    await refreshReads;
    // Before: nothing held the segment, so a cycle planned to resume the archive (as did an
    // archive asked now), which reused the uploads the refresh then deleted, wrote the manifest
    // over them, committed `cold` and deleted the local files: the only copy gone.
    expect(tiered.plan({ changesOnly: true }).map((step) => step.path)).not.toContain(path);
    const archive = tiered.archiveSegment(path);
    release();
    await refresh;
    expect(tiered.lastReconciliation).toMatchObject({ archivesRolledBack: 1, postponed: [], problems: [] });
    expect(await archive).toMatchObject({ outcome: 'archived', reusedFiles: 0 });
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
    expect((await tiered.restoreSegment(path)).outcome).toBe('restored');
  });

  it('a restore that finishes while a refresh reads the data dir is not recorded cold by that refresh', async () => {
    const { tiered, dataDir, paths, faults, store } = await broker();
    // A second partition, with a topic id, one segment of it archived: once the topic is created
    // again (a new id), the refresh deletes its cold copy between reading the data dir and comparing.
    const other: string[] = [];
    for (let i = 0; i < 2; i++) other.push((await writeSegment(dataDir, { topic: 'other', partition: 0, baseOffset: BigInt(i * 1000), logBytes: 64 * 1024, mtime: new Date(Date.now() - (300 - i) * HOUR) })).segmentPath);
    const partitionMetadata = join(dataDir, 'other-0', 'partition.metadata');
    await writeFile(partitionMetadata, 'version: 0\ntopic_id: HShgCd_Pq0sIZAZQ3EO_2w');
    await tiered.refresh();
    await tiered.archiveSegment(other[0]!);
    const path = paths[0]!;
    await tiered.archiveSegment(path);
    await writeFile(partitionMetadata, 'version: 0\ntopic_id: f_Pdf1DtTfqD-mQ1riLNrw');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let deleting!: () => void;
    const refreshDeletes = new Promise<void>((resolve) => (deleting = resolve));
    faults.get = (key: string, options?: object) => {
      if (key !== `${other[0]}.manifest.json`) return store.get(key, options);
      delete faults.get;
      deleting();
      return held.then(() => store.get(key, options));
    };
    const refresh = tiered.refresh();
    await refreshDeletes;
    expect((await tiered.restoreSegment(path)).outcome).toBe('restored');
    release();
    await refresh;
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(2);
    // Before: the refresh, which had not seen its files, committed it cold, and the next one deleted them.
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'hot', isArchived: true, state: 'idle' });
    await tiered.refresh();
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'hot', isArchived: true, state: 'idle' });
    expect((await lstat(join(dataDir, path))).isFile()).toBe(true);
  });

  // A read-only folder and a full disk need mounts: a tmpfs in a private mount namespace of an
  // unprivileged user namespace (`unshare -rm`), where a child runs the protocols on it.
  it('a folder that turns read-only and a disk that fills up: each failure names its segment and what was wrong (the disk, not the cold store), and nothing stops the others', async () => {
    const mount = await mkdtemp(join(work, 'mount-'));
    const script = join(import.meta.dirname, 'fixtures', 'local-disk-faults.mjs');
    const { stdout } = await promisify(execFile)('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=6m takhin-faults "$0" && exec "$1" "$2" "$0"', mount, process.execPath, script], {
      cwd: join(import.meta.dirname, '..'),
      timeout: 90_000,
    });
    const out = JSON.parse(stdout);
    const first = 'faults-0/00000000000000000000.log';
    const undeletable = new RegExp(`^${first} has a verified copy in the cold store, but its local file .*/faults-0/00000000000000000000\\.index cannot be deleted \\(EROFS: read-only file system.*\\); it stays, and each refresh tries again$`);
    expect(out.archiveReadOnly).toMatchObject({ code: 'LOCAL_FAILURE', segmentPath: first, message: expect.stringMatching(undeletable) });
    expect(out.recordReadOnly).toEqual({ policy: 'cold', isArchived: true, state: 'idle' });
    // Before: every refresh and every open failed on that one folder, so nothing else was tiered either.
    expect(out.refreshReadOnly).toEqual({ outcome: 'ok' });
    expect(out.reopenReadOnly).toEqual({ outcome: 'ok' });
    expect(out.problemsReadOnly).toEqual([expect.stringMatching(undeletable)]);
    expect(out.reopenWritable).toMatchObject({ localCopiesDeleted: 1, problems: [] });
    const second = 'faults-0/00000000000000001000.log';
    expect(out.archiveFull).toMatchObject({ code: 'METADATA_FAILURE', segmentPath: second, message: expect.stringMatching(new RegExp(`^cannot archive ${second}: cannot write the metadata file .*: database or disk is full$`)) });
    expect(out.recordFull).toEqual({ policy: 'warm', isArchived: false, state: 'idle' });
    expect(out.archiveAfterFull).toEqual({ outcome: 'archived' });
    // The temp file a restore writes cannot be created: LOCAL_FAILURE naming it, not the cold store's ACCESS_DENIED.
    expect(out.restoreReadOnly).toMatchObject({
      code: 'LOCAL_FAILURE',
      segmentPath: second,
      message: expect.stringMatching(new RegExp(`^cannot restore ${second}: access denied to local file ".*/faults-0/\\.00000000000000001000\\.[a-z]+\\.takhin-restore" \\(EROFS: .*read-only file system`)),
    });
    expect(out.recordAfterRestoreReadOnly).toEqual({ policy: 'cold', isArchived: true, state: 'idle' });
    expect(out.restoreWritable).toEqual({ outcome: 'restored' });
  });
});

describe('opening while the cold store is down', () => {
  it('opens anyway, postponing what it cannot decide, and the first refresh that reaches the store reconciles it', async () => {
    const backend = CRASH_BACKENDS.minio;
    await backend.setup!();
    const section = backend.section(runs) as { s3: Record<string, unknown> };
    const proxy = new TcpProxy(Number(new URL(section.s3.endpoint as string).port));
    await proxy.open();
    try {
      const dataDir = join(work, `broker-${runs++}`, 'data');
      const paths: string[] = [];
      let cutAtIntent = true;
      for (let i = 0; i < 3; i++) paths.push((await writeSegment(dataDir, { topic: 'outage', partition: 0, baseOffset: BigInt(i * 1000), logBytes: 64 * 1024 })).segmentPath);
      const open = async () => {
        const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...section, s3: { ...section.s3, endpoint: proxy.endpoint } } } }), [fsProvider, s3Provider]);
        container.register(RETRY_POLICY, { useValue: { maxAttempts: 1 } });
        // The store goes down once an archive has recorded its intent (before it, an archive asks whose the prefix is, and fails at once).
        container.register(PROTOCOL_OBSERVER, { useValue: { reached: (step: ProtocolStep) => (step === 'archive:intent-recorded' && cutAtIntent ? proxy.cut() : undefined) } });
        const tiered = await openTieredStorage(container);
        opened.push(tiered);
        return tiered;
      };
      const first = await open();
      // Archives that fail while the store is down stay `archiving`, for a retry to resume.
      await expect(first.archiveSegment(paths[0]!)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await proxy.open();
      await expect(first.archiveSegment(paths[1]!)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      cutAtIntent = false;
      await first.close();

      // Reopened while it is still down: it opens (a console can show why), and decides nothing.
      const tiered = await open();
      expect(tiered.lastReconciliation.postponed).toHaveLength(2);
      for (const [i, line] of tiered.lastReconciliation.postponed.entries()) expect(line).toMatch(new RegExp(`^${paths[i]!.replace(/\./g, '\\.')}: .*(unavailable|ECONNREFUSED|reach)`, 'i'));
      expect(tiered.lastReconciliation).toMatchObject({ archivesRolledBack: 0, orphansDeleted: 0, problems: [] });
      expect(paths.slice(0, 2).map((path) => tiered.getSegment(path).state)).toEqual(['archiving', 'archiving']);
      expect(tiered.getStats().totalSegments).toBe(3);
      await expect(tiered.refresh()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(tiered.lastReconciliation.postponed).toHaveLength(2);

      await proxy.open();
      await tiered.refresh();
      expect(tiered.lastReconciliation).toMatchObject({ archivesRolledBack: 2, postponed: [], problems: [] });
      expect(paths.slice(0, 2).map((path) => tiered.getSegment(path).state)).toEqual(['idle', 'idle']);
      expect((await tiered.archiveSegment(paths[0]!)).outcome).toBe('archived');
    } finally {
      await proxy.cut();
    }
  });
});
