import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { cp, lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOCK,
  DataDirLock,
  LOCK_FILE,
  PROTOCOL_OBSERVER,
  createContainer,
  loadConfig,
  openTieredStorage,
  parseSegmentFileName,
  parsePartitionDirName,
  scanLogDir,
  type Clock,
  type SegmentRecord,
  type TieredStorage,
} from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { expectTieringErrorSync, kafkaFixtureLogDir, writeBrokerLogDir, writeSegment, type BrokerLogDirManifest, type ManifestSegment } from '@takhin/testkit';

const DAY = 24 * 3_600_000;
let work: string;
let runs = 0;
const opened: TieredStorage[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-model-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

class MovableClock implements Clock {
  constructor(public time = Date.now()) {}
  now(): number {
    return this.time;
  }
}

/** A fresh broker log dir (two weeks of segments) and its tiered storage on the embedded default. */
async function brokerWithTiering(options: { state?: 'running' | 'stopped'; tiered?: Record<string, unknown>; clock?: Clock; observer?: (step: string, path: string) => void } = {}) {
  const dataDir = join(work, `broker-${runs++}`, 'data');
  const manifest = await writeBrokerLogDir(dataDir, { state: options.state ?? 'running', preallocatedIndexBytes: 64 * 1024, mtimeSpanMs: 14 * DAY });
  const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...options.tiered } } });
  const container = createContainer(config, [fsProvider]);
  if (options.clock) container.register(CLOCK, { useValue: options.clock });
  if (options.observer) {
    const observe = options.observer;
    container.register(PROTOCOL_OBSERVER, { useValue: { reached: (step: string, path: string) => observe(step, path) } });
  }
  const tiered = await openTieredStorage(container);
  opened.push(tiered);
  return { dataDir, manifest, config, tiered };
}

/** SHA-256 and mtime of every file the broker owns that is not a segment file. */
async function fingerprint(manifest: BrokerLogDirManifest): Promise<Map<string, string>> {
  const prints = new Map<string, string>();
  for (const file of manifest.nonSegmentFiles) {
    const path = join(manifest.dir, file);
    const [bytes, stats] = await Promise.all([readFile(path), stat(path)]);
    prints.set(file, `${createHash('sha256').update(bytes).digest('hex')} ${stats.mtimeMs}`);
  }
  return prints;
}

describe('the log-dir scanner', () => {
  it.each(['running', 'stopped'] as const)('finds exactly the live segments of a %s broker, and nothing else', async (state) => {
    const dir = join(work, `scan-${state}`);
    const manifest = await writeBrokerLogDir(dir, { state, preallocatedIndexBytes: 64 * 1024 });
    const found = await scanLogDir(dir);
    const expected = manifest.partitions.flatMap((p) => p.segments.map((s) => s.segmentPath)).sort();
    expect(found.map((s) => s.path).sort()).toEqual(expected);
    let sparse = 0;
    for (const partition of manifest.partitions) {
      for (const segment of partition.segments) {
        const scanned = found.find((s) => s.path === segment.segmentPath)!;
        expect(scanned).toMatchObject({ topic: partition.topic, partition: partition.partition, baseOffset: Number(segment.baseOffset), lastModified: Math.floor(segment.mtime.getTime()) });
        expect(scanned.files.log.size).toBe(segment.sizes.log);
        for (const [extension, size] of Object.entries(segment.sizes)) {
          const scannedSize = scanned.files[extension as 'log']!.size;
          // A running broker's active indexes are preallocated and sparse: what they hold counts, not their length.
          if (state === 'running' && segment.active && extension !== 'log') {
            expect(scannedSize).toBeLessThanOrEqual(size);
            if (size === 64 * 1024 && scannedSize < size) sparse++;
          } else {
            expect(scannedSize, `${segment.segmentPath} .${extension}`).toBe(size);
          }
        }
      }
    }
    if (state === 'running') expect(sparse, 'preallocated indexes counted by what they hold').toBeGreaterThan(0);
    // Snapshots, checkpoints, *.deleted/*.cleaned/*.swap, -delete and -future folders: none is a segment.
    const segmentFiles = new Set(found.flatMap((s) => Object.keys(s.files).map((extension) => s.path.replace(/\.log$/, `.${extension}`))));
    for (const file of manifest.nonSegmentFiles) expect(segmentFiles.has(file), file).toBe(false);
    expect(manifest.nonPartitionDirs.length).toBeGreaterThan(0);
    expect(found.some((s) => manifest.nonPartitionDirs.some((dir) => s.path.startsWith(`${dir}/`)))).toBe(false);
  });

  it("finds the segments of a real Kafka broker's log dir, and only those", async () => {
    const dir = join(work, 'real-kafka');
    await cp(kafkaFixtureLogDir(), dir, { recursive: true });
    const expected: string[] = [];
    for (const folder of await readdir(dir, { withFileTypes: true })) {
      const parsed = folder.isDirectory() ? parsePartitionDirName(folder.name) : undefined;
      if (parsed?.kind !== 'live') continue;
      for (const name of await readdir(join(dir, folder.name))) if (parseSegmentFileName(name)?.extension === 'log') expected.push(`${folder.name}/${name}`);
    }
    expect(expected.length).toBeGreaterThan(8);
    expect((await scanLogDir(dir)).map((s) => s.path).sort()).toEqual(expected.sort());
  });

  it('has no segments in a data dir that does not exist yet', async () => {
    expect(await scanLogDir(join(work, 'nowhere'))).toEqual([]);
  });
});

describe('TieredStorage, the model', () => {
  it('records every segment at open, pins active and internal ones, and leaves every other file untouched through a full cycle', async () => {
    const { manifest, tiered } = await brokerWithTiering();
    const before = await fingerprint(manifest);
    const all = manifest.partitions.flatMap((p) => p.segments.map((s) => ({ ...s, internal: p.internal })));
    expect(tiered.getStats().totalSegments).toBe(all.length);
    for (const segment of all) expect(tiered.getSegment(segment.segmentPath).baseOffset).toBe(Number(segment.baseOffset));

    const plan = tiered.plan();
    const byPath = new Map(plan.map((step) => [step.path, step]));
    for (const segment of all) {
      const step = byPath.get(segment.segmentPath)!;
      if (segment.active) expect(step).toMatchObject({ to: 'hot', action: 'none', rule: segment.internal ? expect.any(String) : 'active-segment' });
      if (segment.internal) expect(step.to).toBe('hot');
    }
    const due = plan.filter((step) => step.action === 'archive');
    expect(due.length).toBeGreaterThan(0);

    const report = await tiered.runCycle();
    expect(report).toMatchObject({ archived: due.length, failed: 0 });
    for (const segment of all) {
      const record = tiered.getSegment(segment.segmentPath);
      if (segment.active || segment.internal) expect(record).toMatchObject({ isArchived: false });
    }
    expect(await fingerprint(manifest)).toEqual(before);
  });

  it('findSegment maps an offset to its segment by base offset, archived or not', async () => {
    const { manifest, tiered } = await brokerWithTiering();
    await tiered.runCycle();
    const partition = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 1)!;
    for (const segment of partition.segments) {
      const base = Number(segment.baseOffset);
      const last = Number(segment.lastOffset);
      for (const offset of [base, base + 1, last]) expect(tiered.findSegment(partition.topic, partition.partition, offset).path).toBe(segment.segmentPath);
    }
    expect(partition.segments.some((s) => tiered.getSegment(s.segmentPath).isArchived)).toBe(true);
    // Past the active segment's end is still the active segment: only a read can tell the end.
    expect(tiered.findSegment(partition.topic, 1, Number.MAX_SAFE_INTEGER).path).toBe(partition.segments.at(-1)!.segmentPath);
    const first = Number(partition.segments[0]!.baseOffset);
    if (first > 0) expectTieringErrorSync(() => tiered.findSegment(partition.topic, 1, first - 1), 'OFFSET_OUT_OF_RANGE', /before the first segment/);
    expectTieringErrorSync(() => tiered.findSegment('no-such-topic', 0, 0), 'UNKNOWN_PARTITION', /no segments of no-such-topic-0/);
    expectTieringErrorSync(() => tiered.findSegment(partition.topic, 1, -1), 'INVALID_ARGUMENT', /^not an offset: got -1 \(expected a whole number ≥ 0\)$/);
    expectTieringErrorSync(() => tiered.findSegment(partition.topic, 1, '5' as never), 'INVALID_ARGUMENT', /^not an offset: got the string "5"/);
    expectTieringErrorSync(() => tiered.findSegment(partition.topic, '1' as never, 0), 'UNKNOWN_PARTITION', /^not a topic-partition: the string "[^"]+", the string "1" \(a topic is 1 to 249 ASCII letters/);
    expectTieringErrorSync(() => tiered.findSegment(partition.topic, 1.5, 0), 'UNKNOWN_PARTITION');
    // No topic Kafka would accept: said so, not "no segments of -0".
    for (const topic of ['', '..', 'a/b', 'x'.repeat(250), 'topic with spaces']) {
      expectTieringErrorSync(() => tiered.findSegment(topic, 0, 0), 'UNKNOWN_PARTITION', /^not a topic-partition: the string .*\(a topic is 1 to 249 ASCII letters, digits, '\.', '_' or '-'; a partition a whole number from 0 to 2\^31 - 1\)$/);
    }
    expectTieringErrorSync(() => tiered.findSegment(partition.topic, 2 ** 31, 0), 'UNKNOWN_PARTITION', /^not a topic-partition: .*, 2147483648 /);
  });

  it('refuses any segment path but the canonical relative form, naming what is wrong', async () => {
    const { tiered } = await brokerWithTiering();
    const cases: [string, RegExp][] = [
      ['/var/lib/kafka/orders-0/00000000000000000000.log', /must be relative/],
      ['../orders-0/00000000000000000000.log', /must not contain "\." or "\.\." segments/],
      ['orders.v1-events-0/../00000000000000000000.log', /must not contain/],
      ['orders.v1-events-0/00000000000000000000.log\u0000', /NUL/],
      ['orders.v1-events-0\\00000000000000000000.log', /contains "\\"/],
      ['orders.v1-events-0/00000000000000000000.index', /is not a <20-digit base offset>\.log file/],
      ['orders.v1-events-0/0.log', /is not a <20-digit base offset>\.log file/],
      ['orders.v1-events-0/99999999999999999999.log', /its base offset 99999999999999999999 is beyond 2\^63 - 1, Kafka's largest offset$/],
      ['orders.v1-events-0/09007199254740993000.log', /its base offset 9007199254740993000 is beyond 2\^53 - 1, the largest this library tracks$/],
      ['orders.v1-events/00000000000000000000.log', /is not a <topic>-<partition> folder/],
      ['orders.v1-events-0.abc-delete/00000000000000000000.log', /is not a <topic>-<partition> folder/],
      ['', /it is empty/],
    ];
    for (const [path, message] of cases) expectTieringErrorSync(() => tiered.getSegment(path), 'INVALID_SEGMENT_PATH', message);
    expectTieringErrorSync(() => tiered.getSegment('orders.v1-events-0/00000000000000999999.log'), 'UNKNOWN_SEGMENT', /no segment orders\.v1-events-0\/00000000000000999999\.log/);
    expectTieringErrorSync(() => tiered.isSegmentArchived('x/y'), 'INVALID_SEGMENT_PATH');
    expectTieringErrorSync(() => tiered.getSegmentPolicy('orders.v1-events-9/00000000000000000000.log'), 'UNKNOWN_SEGMENT');
  });

  it('keeps stats O(1) and exact: the counters agree with a recount after archives, restores and evictions', async () => {
    const { tiered } = await brokerWithTiering();
    await tiered.runCycle();
    const archived = tiered.listSegments({ archived: true });
    await tiered.restoreSegment(archived[0]!.path);
    await tiered.restoreSegment(archived[1]!.path);
    await tiered.evictSegment(archived[1]!.path);
    const all = tiered.listSegments();
    const recount = {
      totalSegments: all.length,
      hotSegments: all.filter((s) => s.policy === 'hot').length,
      warmSegments: all.filter((s) => s.policy === 'warm').length,
      coldSegments: all.filter((s) => s.policy === 'cold').length,
      archivedSegments: all.filter((s) => s.isArchived).length,
      totalSizeBytes: all.reduce((sum, s) => sum + s.size, 0),
      localBytes: all.reduce((sum, s) => sum + (s.policy === 'cold' ? 0 : Object.values(s.files).reduce((a, f) => a + f!.size, 0)), 0),
      remoteBytes: all.reduce((sum, s) => sum + (s.isArchived ? Object.values(s.files).reduce((a, f) => a + f!.size, 0) : 0), 0),
      hotBytes: all.filter((s) => s.policy === 'hot').reduce((sum, s) => sum + Object.values(s.files).reduce((a, f) => a + f!.size, 0), 0),
      warmBytes: all.filter((s) => s.policy === 'warm').reduce((sum, s) => sum + Object.values(s.files).reduce((a, f) => a + f!.size, 0), 0),
      coldBytes: all.filter((s) => s.policy === 'cold').reduce((sum, s) => sum + Object.values(s.files).reduce((a, f) => a + f!.size, 0), 0),
    };
    expect(tiered.getStats()).toEqual(recount);
    expect(recount.coldSegments).toBeGreaterThan(0);
    expect(recount.archivedSegments).toBe(archived.length);
  });

  it('lists segments by topic, partition, policy and archive state, a page at a time', async () => {
    const { tiered } = await brokerWithTiering();
    await tiered.runCycle();
    const all = tiered.listSegments();
    const pages: SegmentRecord[] = [];
    for (let page = tiered.listSegments({ limit: 5 }); page.length > 0; page = tiered.listSegments({ limit: 5, after: page.at(-1)!.path })) pages.push(...page);
    expect(pages.map((s) => s.path)).toEqual(all.map((s) => s.path));
    const keyOf = (s: SegmentRecord) => [s.topic, s.partition, s.baseOffset] as const;
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [keyOf(all[i - 1]!), keyOf(all[i]!)];
      expect(a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])))).toBe(true);
    }
    expect(tiered.listSegments({ topic: 'orders.v1-events', partition: 0 }).every((s) => s.topic === 'orders.v1-events' && s.partition === 0)).toBe(true);
    expect(tiered.listSegments({ policy: 'cold' }).every((s) => s.policy === 'cold')).toBe(true);
    expect(tiered.listSegments({ archived: false }).every((s) => !s.isArchived)).toBe(true);
    expect(tiered.listSegments({ policy: 'cold' }).length + tiered.listSegments({ policy: 'hot' }).length + tiered.listSegments({ policy: 'warm' }).length).toBe(all.length);
    // A cursor is a position: a page still follows when its last segment was deleted meanwhile.
    const firstPage = tiered.listSegments({ limit: 3 });
    await tiered.archiveSegment(firstPage.at(-1)!.path).catch(() => {});
    const cursor = firstPage.at(-1)!.path;
    const expectedNext = all[3]!.path;
    expect(tiered.listSegments({ after: cursor, limit: 1 })[0]!.path).toBe(expectedNext);
  });

  it('refuses a segment filter with a misspelt key or a value of the wrong kind, naming it', async () => {
    const { tiered } = await brokerWithTiering();
    const refused = (filter: unknown) => expectTieringErrorSync(() => tiered.listSegments(filter as never), 'INVALID_ARGUMENT');
    expect(refused({ topc: 'orders.v1-events' }).message).toMatch(/unknown segment filter key "topc"; the keys are topic, partition/);
    expect(refused({ policy: 'COLD' }).message).toBe('filter.policy must be one of hot, warm, cold, got the string "COLD"');
    expect(refused({ partition: '0' }).message).toBe('filter.partition must be a whole number ≥ 0, got the string "0"');
    expect(refused({ archived: 'false' }).message).toBe('filter.archived must be true or false, got the string "false"');
    expect(refused({ limit: 0 }).message).toBe('filter.limit must be a whole number ≥ 1, got 0');
    expect(tiered.listSegments({ policy: 'hot', partition: 0, archived: false, limit: 1 })).toHaveLength(1);
  });

  it('plan() changes nothing', async () => {
    const { tiered, dataDir, config } = await brokerWithTiering();
    const records = JSON.stringify(tiered.listSegments());
    const db = await readFile(config.storage.tiered.metadata.path!);
    const files = (await readdir(dataDir, { recursive: true })).sort();
    expect(tiered.plan().length).toBe(tiered.getStats().totalSegments);
    expect(JSON.stringify(tiered.listSegments())).toBe(records);
    expect((await readFile(config.storage.tiered.metadata.path!)).equals(db)).toBe(true);
    expect((await readdir(dataDir, { recursive: true })).sort()).toEqual(files);
  });

  it('notices what the broker does between cycles: a new segment rolled, an old one deleted by retention', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const discovered: string[] = [];
    tiered.on('segment:discovered', (segment) => discovered.push(segment.path));
    const partition = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!;
    const oldActive = partition.segments.at(-1)!;
    const rolled = await writeSegment(dataDir, { topic: partition.topic, partition: 0, baseOffset: oldActive.nextOffset + 1000n, logBytes: 4096 });
    const doomed = partition.segments[0]!;
    for (const file of Object.values(doomed.files)) await unlink(join(dataDir, file));
    await tiered.refresh();
    expect(discovered).toEqual([rolled.segmentPath]);
    expect(tiered.plan().find((s) => s.path === rolled.segmentPath)?.rule).toBe('active-segment');
    expect(tiered.plan().find((s) => s.path === oldActive.segmentPath)?.rule).not.toBe('active-segment');
    expectTieringErrorSync(() => tiered.getSegment(doomed.segmentPath), 'UNKNOWN_SEGMENT');
  });

  it('reports a conflict that every refresh finds again once, however many refreshes see it', async () => {
    // Kafka's log cleaner rewrites a closed segment under its own name (`.swap` renamed to `.log`):
    // seen on a live Kafka 4.2 broker, for a compacted segment archived before it was cleaned.
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const segment = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!.segments[0]!;
    await tiered.archiveSegment(segment.segmentPath);
    const cleaned = await writeSegment(join(work, `cleaned-${runs++}`), { topic: 'orders.v1-events', partition: 0, baseOffset: segment.baseOffset, logBytes: 2048 });
    for (const [extension, file] of Object.entries(cleaned.files)) if (extension !== 'txnindex') await cp(file, join(dataDir, segment.files[extension as 'log']!));
    const problem = `${segment.segmentPath}: local files differ from its archive (.log is ${cleaned.logBytes} bytes, expected ${segment.sizes.log}); both are kept`;
    for (let i = 0; i < 3; i++) await tiered.refresh();
    expect(tiered.lastReconciliation.problems).toEqual([problem]);
    expect(tiered.getSegment(segment.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
  });

  it("refuses to restore a local segment whose files the broker deleted since the last refresh, instead of calling it already local", async () => {
    // Seen on a live Kafka 4.2 broker: retention renamed a segment's files to *.deleted, and
    // restoreSegment answered `already-local` (openSegment handed out paths that were gone).
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const [restored, never] = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!.segments as [ManifestSegment, ManifestSegment];
    await tiered.archiveSegment(restored.segmentPath);
    await tiered.restoreSegment(restored.segmentPath);
    for (const segment of [restored, never]) for (const file of Object.values(segment.files)) await rename(join(dataDir, file), join(dataDir, `${file}.deleted`));
    for (const segment of [restored, never]) {
      await expect(tiered.restoreSegment(segment.segmentPath)).rejects.toMatchObject({ code: 'UNKNOWN_SEGMENT', message: expect.stringMatching(/its \.log is gone from local disk \(the broker deleted it since the last refresh\)/) });
      await expect(tiered.openSegment(segment.segmentPath)).rejects.toMatchObject({ code: 'UNKNOWN_SEGMENT' });
    }
    await tiered.refresh();
    expectTieringErrorSync(() => tiered.getSegment(never.segmentPath), 'UNKNOWN_SEGMENT');
    expect(tiered.getSegment(restored.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect((await tiered.restoreSegment(restored.segmentPath)).outcome).toBe('restored');
    expect((await stat(join(dataDir, restored.files.log))).size).toBe(restored.sizes.log);
  });

  it('reports a failed archive, restore or evict called directly as operation:failed, once', async () => {
    const { tiered, manifest } = await brokerWithTiering();
    const failures: string[] = [];
    tiered.on('operation:failed', (failure) => failures.push(`${failure.operation} ${failure.path}`));
    const active = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments.at(-1)!.segmentPath;
    await Promise.allSettled([tiered.archiveSegment(active), tiered.archiveSegment(active)]);
    expect(failures).toEqual([`archive ${active}`]);
  });

  it('reports archive and restore progress in bytes, all files together', async () => {
    const { tiered, manifest } = await brokerWithTiering();
    const segment = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments[0]!;
    const total = Object.values(segment.sizes).reduce((a, b) => a + b, 0);
    const archived: number[] = [];
    await tiered.archiveSegment(segment.segmentPath, { onProgress: (bytes) => archived.push(bytes) });
    expect(archived.at(-1)).toBe(total);
    expect(archived).toEqual([...archived].sort((a, b) => a - b));
    const restored: number[] = [];
    await tiered.restoreSegment(segment.segmentPath, { onProgress: (bytes) => restored.push(bytes) });
    expect(restored.at(-1)).toBe(total);
  });

  it('refuses to archive the active segment, an internal topic or a never-tiered topic, and is a no-op for an archived one', async () => {
    const { tiered, manifest } = await brokerWithTiering({ tiered: { topics: { 'payments-ledger': { enabled: false } } } });
    const active = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments.at(-1)!.segmentPath;
    const internal = manifest.partitions.find((p) => p.topic === '__consumer_offsets')!.segments[0]!.segmentPath;
    const neverTiered = manifest.partitions.find((p) => p.topic === 'payments-ledger')!.segments[0]!.segmentPath;
    expect(tiered.archiveRefusal(active)).toMatch(/is the active segment of orders\.v1-events-0/);
    await expect(tiered.archiveSegment(active)).rejects.toThrow(/is the active segment of orders\.v1-events-0/);
    await expect(tiered.archiveSegment(internal)).rejects.toThrow(/internal topics \(__\*\) are never tiered/);
    await expect(tiered.archiveSegment(neverTiered)).rejects.toThrow(/storage\.tiered\.topics\.payments-ledger\.enabled: false/);
    const closed = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments[0]!.segmentPath;
    expect((await tiered.archiveSegment(closed)).outcome).toBe('archived');
    expect(await tiered.archiveSegment(closed)).toMatchObject({ outcome: 'already-archived', uploadedBytes: 0 });
    await expect(tiered.evictSegment(neverTiered)).rejects.toThrow(/not archived, so its local files are its only copy/);
  });

  it('keeps the highest local segment active when cold records of a truncated log lie above it', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const segments = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!.segments;
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const [now, previous, older] = [segments.at(-1)!, segments.at(-2)!, segments.at(-3)!];
    await tiered.archiveSegment(previous.segmentPath);
    // The broker truncates its log (an unclean election) below the archived segment: `older` is written to again.
    for (const file of Object.values(now.files)) await unlink(join(dataDir, file));
    await tiered.refresh();
    expect(tiered.getSegment(previous.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(tiered.plan().find((s) => s.path === older.segmentPath)?.rule).toBe('active-segment');
    await expect(tiered.archiveSegment(older.segmentPath)).rejects.toThrow(/is the active segment of orders\.v1-events-0/);
    expect((await stat(join(dataDir, older.files.log))).isFile()).toBe(true);
  });

  it('neither archives nor deletes a segment one of whose files is not a regular file', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const segment = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!.segments[0]!;
    const timeindex = join(dataDir, segment.files.timeindex!);
    const kept = join(work, `timeindex-${runs++}`);
    await cp(timeindex, kept);
    await unlink(timeindex);
    await symlink(kept, timeindex);
    const before = (await readdir(dirname(timeindex))).sort();
    const error = await tiered.archiveSegment(segment.segmentPath).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'NOT_ALLOWED', message: expect.stringMatching(/\.timeindex \(.+\) is a symbolic link, not a regular file/) });
    expect((await readdir(dirname(timeindex))).sort()).toEqual(before);
    expect((await lstat(timeindex)).isSymbolicLink()).toBe(true);
    expect(tiered.getSegment(segment.segmentPath)).toMatchObject({ isArchived: false, state: 'idle' });
  });

  it('evicts a restored segment only while its local files are still the archived bytes', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const segment = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 0)!.segments[0]!;
    await tiered.archiveSegment(segment.segmentPath);
    await tiered.restoreSegment(segment.segmentPath);
    const log = join(dataDir, segment.files.log);
    // A follower truncates the restored segment: the local bytes are no longer the archive's.
    await truncate(log, segment.sizes.log! - 100);
    await tiered.refresh();
    await expect(tiered.evictSegment(segment.segmentPath)).rejects.toMatchObject({ code: 'NOT_ALLOWED', message: expect.stringMatching(/local files are no longer what was archived .*they are kept/) });
    expect((await stat(log)).size).toBe(segment.sizes.log! - 100);
    expect(tiered.getSegment(segment.segmentPath)).toMatchObject({ policy: 'hot', state: 'idle' });
  });

  it("ends uploads a crashed writer left in the cold store once they are an hour old, and leaves younger ones", async () => {
    const { tiered, config } = await brokerWithTiering();
    const tmp = join(config.storage.tiered.backends.fs!.root as string, '.takhin', 'tmp');
    await mkdir(tmp, { recursive: true });
    const [stale, young] = [join(tmp, randomUUID()), join(tmp, randomUUID())];
    await writeFile(stale, 'half an upload');
    await writeFile(young, 'an upload still being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const before = tiered.lastReconciliation.orphansDeleted;
    await tiered.refresh();
    expect(tiered.lastReconciliation.orphansDeleted).toBe(before + 1);
    expect((await readdir(tmp)).sort()).toEqual([basename(young)]);
  });

  it('with tiering disabled, nothing moves: archives and cycles are refused, start() does not start', async () => {
    const { tiered, manifest } = await brokerWithTiering({ tiered: { enabled: false } });
    const closed = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments[0]!.segmentPath;
    await expect(tiered.archiveSegment(closed)).rejects.toMatchObject({ code: 'TIERING_DISABLED' });
    await expect(tiered.runCycle()).rejects.toMatchObject({ code: 'TIERING_DISABLED' });
    expect(tiered.start()).toBe(false);
    expect(tiered.plan({ changesOnly: true }).length).toBeGreaterThan(0);
  });

  it('with tiering disabled, a restored segment is not evicted either', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering();
    const segment = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments[0]!;
    await tiered.archiveSegment(segment.segmentPath);
    await tiered.restoreSegment(segment.segmentPath);
    await tiered.close();
    const disabled = await openTieredStorage(createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: false } } }), [fsProvider]));
    opened.push(disabled);
    await expect(disabled.evictSegment(segment.segmentPath)).rejects.toMatchObject({ code: 'TIERING_DISABLED' });
    expect((await stat(join(dataDir, segment.files.log))).size).toBe(segment.sizes.log);
  });

  it('an operation asked once close() has begun is refused (CLOSED), and changes nothing; the one in flight finishes', async () => {
    const { tiered, dataDir, manifest } = await brokerWithTiering({ state: 'stopped' });
    const [first, second] = manifest.partitions.find((p) => p.topic === 'orders.v1-events')!.segments;
    const archiving = tiered.archiveSegment(first!.segmentPath);
    const closing = tiered.close();
    // Before: each was queued, ran while the close waited, and reached stores the close then shut under it.
    await expect(tiered.archiveSegment(second!.segmentPath)).rejects.toMatchObject({ code: 'CLOSED', message: 'tiered storage is closed' });
    await expect(tiered.restoreSegment(first!.segmentPath)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(tiered.evictSegment(first!.segmentPath)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(tiered.openSegment(first!.segmentPath)).rejects.toMatchObject({ code: 'CLOSED' });
    expect((await archiving).outcome).toBe('archived');
    await closing;
    expect((await stat(join(dataDir, second!.files.log))).size).toBe(second!.sizes.log);
    const again = await openTieredStorage(createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } }), [fsProvider]));
    opened.push(again);
    expect(again.getSegment(second!.segmentPath)).toMatchObject({ isArchived: false, state: 'idle' });
    expect(again.getSegment(first!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
  });

  it('one process tiers a data dir at a time; a lock left by a dead process is taken over', async () => {
    const { tiered, config, dataDir } = await brokerWithTiering();
    await expect(openTieredStorage(createContainer(config, [fsProvider]))).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', message: expect.stringMatching(new RegExp(`in use by process ${process.pid}`)) });
    await tiered.close();
    await writeFile(join(dataDir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), startedAt: 'yesterday' }));
    const again = await openTieredStorage(createContainer(config, [fsProvider]));
    opened.push(again);
    expect(JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  });

  it.each([
    ['no lock', undefined],
    ["a dead process's lock", JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: 'yesterday' })],
  ])('gives the lock to one of two processes starting together over %s, whichever step of the first the second runs between', async (_, left) => {
    const dataDir = join(work, `lock-race-${runs++}`);
    await mkdir(dataDir, { recursive: true });
    const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const names = ['open', 'link', 'rename', 'writeFile', 'readFile', 'unlink'] as const;
    const real = Object.fromEntries(names.map((name) => [name, promises[name]!]));
    for (let step = 1; ; step++) {
      await rm(join(dataDir, LOCK_FILE), { force: true });
      if (left !== undefined) await writeFile(join(dataDir, LOCK_FILE), left);
      // The first process's fs calls in its data dir are counted; after the step-th, the second runs its whole acquire.
      let calls = 0;
      let second: Promise<string> | undefined;
      for (const name of names) {
        promises[name] = async (...args: unknown[]) => {
          const result = await real[name]!(...args);
          if (second === undefined && String(args[0]).startsWith(dataDir) && ++calls === step) {
            second = DataDirLock.acquire(dataDir).then(
              () => 'locked',
              (error: { code?: string }) => error.code ?? String(error),
            );
            await second;
          }
          return result;
        };
      }
      syncBuiltinESMExports();
      let first: string;
      try {
        first = await DataDirLock.acquire(dataDir).then(
          () => 'locked',
          (error: { code?: string }) => error.code ?? String(error),
        );
      } finally {
        Object.assign(promises, real);
        syncBuiltinESMExports();
      }
      if (second === undefined) break; // the first acquire made fewer calls: every step was tried
      expect([first, await second].sort(), `the second process run after step ${step} of the first`).toEqual(['DATA_DIR_LOCKED', 'locked']);
      expect(await readdir(dataDir), 'only the lock is left').toEqual([LOCK_FILE]);
    }
  });
});

describe('the background archiver', () => {
  it("a refresh asked while a cycle's refresh runs waits for it, rather than failing both on the segments each found new", async () => {
    const { tiered, dataDir } = await brokerWithTiering({ state: 'stopped' });
    const written: string[] = [];
    for (let i = 0; i < 20; i++) written.push((await writeSegment(dataDir, { topic: 'late', partition: i, baseOffset: 0n, logBytes: 4096 })).segmentPath);
    // Before: each scan found the same new segments and committed them as new; all but the first
    // failed with METADATA_CONFLICT (the cycle with it, reported as a failed cycle).
    const failures: string[] = [];
    tiered.on('operation:failed', (failure) => failures.push(failure.error.message));
    const [cycle, ...refreshes] = await Promise.all([tiered.runCycle(), tiered.refresh(), tiered.refresh(), tiered.refresh()]);
    expect(refreshes).toEqual([undefined, undefined, undefined]);
    expect(cycle.failed).toBe(0);
    expect(failures).toEqual([]);
    for (const path of written) expect(tiered.getSegment(path)).toMatchObject({ isArchived: false, state: 'idle', version: 1 });
  });

  it('runs a cycle every archive.interval.minutes once started, with the typed events, and stops', async () => {
    const { tiered } = await brokerWithTiering({ tiered: { 'archive.interval.minutes': 0.002 } });
    const changes: string[] = [];
    tiered.on('segment:tier-changed', (segment, from, to) => changes.push(`${segment.path} ${from}→${to}`));
    const archived = new Promise<void>((resolve) => tiered.once('segment:archived', () => resolve()));
    expect(tiered.start()).toBe(true);
    await archived;
    await tiered.stop();
    const settled = changes.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(changes.length, 'no cycle after stop()').toBe(settled);
    expect(changes.some((c) => c.endsWith('→cold'))).toBe(true);
    expect(tiered.plan({ changesOnly: true })).toEqual([]);
  });

  it('keeps going when one segment fails, reports it, and retries it with backoff on a later cycle', async () => {
    // An hour ahead, so no segment sits on an age boundary the 31 s step below could cross.
    const clock = new MovableClock(Date.now() + 3_600_000);
    let broken: string | undefined;
    const { tiered } = await brokerWithTiering({
      clock,
      observer: (step, path) => {
        if (step === 'archive:file-uploaded' && path === broken) throw new Error('the cold store refused this one');
      },
    });
    broken = tiered.plan({ changesOnly: true }).find((s) => s.action === 'archive')!.path;
    const failures: { path: string | undefined; retryAt?: number }[] = [];
    tiered.on('operation:failed', (failure) => failures.push({ path: failure.path, retryAt: failure.retryAt }));
    const first = await tiered.runCycle();
    expect(first.failed).toBe(1);
    expect(first.archived).toBeGreaterThan(0);
    expect(failures).toEqual([{ path: broken, retryAt: clock.time + 30_000 }]);
    // Kept for an operator: the cycle's outcome, the first failing step with it.
    expect(tiered.archiverStatus).toMatchObject({ running: false, lastSuccessAt: undefined, lastFailureAt: clock.time });
    expect(tiered.archiverStatus.lastCycle).toMatchObject({ startedAt: clock.time, finishedAt: clock.time, report: first, failure: { operation: 'archive', path: broken, retryAt: clock.time + 30_000 } });
    expect(tiered.archiverStatus.lastCycle!.failure!.error.message).toContain('the cold store refused this one');

    const waiting = await tiered.runCycle();
    expect(waiting).toMatchObject({ deferred: 1, archived: 0, failed: 0 });
    expect(tiered.archiverStatus).toMatchObject({ lastSuccessAt: clock.time, lastFailureAt: clock.time, lastCycle: { report: waiting, failure: undefined } });

    broken = undefined;
    clock.time += 31_000;
    const retried = await tiered.runCycle();
    expect(retried, JSON.stringify(retried)).toMatchObject({ archived: 1, failed: 0, deferred: 0 });
    expect(tiered.getSegment(failures[0]!.path!)).toMatchObject({ isArchived: true, state: 'idle' });
  });

  it('stop({ abort: true }) aborts the cycle in flight and leaves nothing half-done', async () => {
    const dataDir = join(work, 'abort', 'data');
    for (let i = 0; i < 4; i++) await writeSegment(dataDir, { topic: 'big', partition: 0, baseOffset: BigInt(i * 1_000_000), logBytes: 48 * 1024 * 1024, mtime: new Date(Date.now() - (30 - i) * DAY) });
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, 'archive.concurrency': 2 } } });
    const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
    opened.push(tiered);
    const cycle = tiered.runCycle();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await tiered.stop({ abort: true });
    const report = await cycle;
    expect(report.archived).toBeLessThan(3);
    const objects: string[] = [];
    for await (const object of tiered.store.list('')) objects.push(object.key);
    for (const segment of tiered.listSegments()) {
      expect(segment.state, segment.path).toBe('idle');
      const keys = objects.filter((key) => key.startsWith(segment.path.replace(/log$/, '')));
      if (segment.isArchived) expect(keys.length).toBeGreaterThan(1);
      else expect(keys, `objects of ${segment.path}, never archived`).toEqual([]);
    }
  });
});
