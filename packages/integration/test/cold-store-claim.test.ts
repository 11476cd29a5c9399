import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLAIM_KEY,
  CLAIM_RECHECK_MS,
  CLOCK,
  DATA_DIR_ID_FILE,
  MANIFEST_RECHECK_MS,
  PROTOCOL_OBSERVER,
  RETRY_POLICY,
  createContainer,
  loadConfig,
  manifestKeyOf,
  openTieredStorage,
  type OpenOptions,
  type ProtocolStep,
  type TieredStorage,
} from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { provider as s3Provider } from '@takhin/backend-s3';
import { TcpProxy, expectTieringError, writeSegment, type GeneratedSegment } from '@takhin/testkit';
import { CRASH_BACKENDS } from './fixtures/crash-suite.js';

// One data dir owns a cold store's prefix (docs/ARCHITECTURE.md, "The cold store's owner"): two
// brokers holding replicas of one partition have the same segment paths, so two configured with
// one prefix would overwrite each other's archives.

const DAY = 24 * 3_600_000;
const TOPIC_ID = 'HShgCd_Pq0sIZAZQ3EO_2w';
const OTHER_TOPIC_ID = 'f_Pdf1DtTfqD-mQ1riLNrw';
let work: string;
let runs = 0;
const opened: TieredStorage[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-claim-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

/** The system clock, moved on by `skip` ms whenever a test says so. */
const clock = { skip: 0, now: () => Date.now() + clock.skip };

/** A broker's data dir with `payments-0` at offsets 0, 1000 and 2000 (the last one active). */
async function dataDirWithSegments(): Promise<{ dataDir: string; segments: GeneratedSegment[] }> {
  const dataDir = join(work, `broker-${runs++}`, 'data');
  const segments: GeneratedSegment[] = [];
  for (const [i, baseOffset] of [0n, 1000n, 2000n].entries()) {
    segments.push(await writeSegment(dataDir, { topic: 'payments', partition: 0, baseOffset, logBytes: 96 * 1024, recordBytes: 700, mtime: new Date(Date.now() - (30 - i) * DAY) }));
  }
  return { dataDir, segments };
}

/** Opens `dataDir` on an FS cold store at `coldRoot`; `reached` is told each protocol step. */
async function open(dataDir: string, coldRoot: string, options: OpenOptions = {}, reached?: (step: ProtocolStep) => Promise<void>): Promise<TieredStorage> {
  const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, fs: { root: coldRoot } } } }), [fsProvider]);
  container.register(CLOCK, { useValue: clock });
  if (reached) container.register(PROTOCOL_OBSERVER, { useValue: { reached } });
  const tiered = await openTieredStorage(container, options);
  opened.push(tiered);
  return tiered;
}

/** Every file under the FS cold store's root, with its bytes. */
async function coldFiles(coldRoot: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(coldRoot, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

describe("the cold store's owner", () => {
  it('refuses a second data dir configured with the same prefix before it writes or deletes anything there', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const first = await dataDirWithSegments();
    const a = await open(first.dataDir, coldRoot);
    expect((await a.archiveSegment(first.segments[0]!.segmentPath)).outcome).toBe('archived');
    const claim = JSON.parse(await readFile(join(coldRoot, CLAIM_KEY), 'utf8'));
    expect(claim).toMatchObject({ format: 'takhin-tiered.owner', version: 1, id: (await readFile(join(first.dataDir, DATA_DIR_ID_FILE), 'utf8')).trim(), dataDir: first.dataDir });
    const before = await coldFiles(coldRoot);

    // A replica of the same partition, same paths, other bytes: before, its archive overwrote the first one's objects.
    const second = await dataDirWithSegments();
    const refused = await expectTieringError(open(second.dataDir, coldRoot), 'COLD_STORE_CLAIMED');
    expect(refused.message).toBe(
      `the fs cold store's prefix belongs to the data dir ${first.dataDir} on ${claim.host} (since ${claim.claimedAt}), by its ${CLAIM_KEY}: two data dirs under one prefix would overwrite each other's archives, so ${second.dataDir} writes and deletes nothing there. Give it a prefix (or bucket) of its own; or, if it takes that data dir's place for good (a replaced disk), run \`takhin-tiered rebuild --take-over\``,
    );
    expect(await coldFiles(coldRoot)).toEqual(before);
    // Nor did it make a metadata file in that data dir: only its id, made the first time it is opened.
    expect((await readdir(second.dataDir)).filter((name) => name.startsWith('.takhin'))).toEqual([DATA_DIR_ID_FILE]);

    // The owner goes on as before, and its archive is its own.
    expect((await a.archiveSegment(first.segments[1]!.segmentPath)).outcome).toBe('archived');
    await a.restoreSegment(first.segments[0]!.segmentPath);
    expect(await readFile(first.segments[0]!.files.log)).toEqual(await readFile(join(coldRoot, first.segments[0]!.segmentPath)));
  });

  it('is the same data dir after its metadata is lost: it opens, and a rebuild finds its archives', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const { dataDir, segments } = await dataDirWithSegments();
    const tiered = await open(dataDir, coldRoot);
    await tiered.archiveSegment(segments[0]!.segmentPath);
    const log = await readFile(join(coldRoot, segments[0]!.segmentPath));
    await tiered.close();
    await rename(join(dataDir, '.takhin-tiered.db'), join(dataDir, '..', 'lost.db'));

    const again = await open(dataDir, coldRoot);
    expect(await again.rebuildFromColdStore()).toMatchObject({ manifests: 1, created: 1, problems: [] });
    expect(again.getSegment(segments[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    await again.restoreSegment(segments[0]!.segmentPath);
    expect(await readFile(segments[0]!.files.log)).toEqual(log);
  });

  it('passes to a data dir that takes the owner’s place when told to; the old owner then writes nothing more there', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const first = await dataDirWithSegments();
    const old = await open(first.dataDir, coldRoot);
    await old.archiveSegment(first.segments[0]!.segmentPath);
    const archived = await readFile(join(coldRoot, first.segments[0]!.segmentPath));

    // An empty data dir, told to take the prefix over: refused while the owner's data dir is still there, not replaced.
    const newDataDir = join(work, `broker-${runs++}`, 'data');
    await mkdir(newDataDir, { recursive: true });
    const claimed = await readFile(join(coldRoot, CLAIM_KEY));
    const idFile = join(first.dataDir, DATA_DIR_ID_FILE);
    const kept = await expectTieringError(open(newDataDir, coldRoot, { takeOverColdStore: true }), 'COLD_STORE_CLAIMED');
    expect(kept.message).toContain(`cannot take the fs cold store's prefix over: it belongs to the data dir ${first.dataDir} on this host`);
    expect(kept.message).toContain(`which is still there with its id (${idFile} holds ${(await readFile(idFile, 'utf8')).trim()}), so it was not replaced`);
    expect(kept.message).toContain(`if ${first.dataDir} is retired for good, delete ${idFile} first`);
    expect(await readFile(join(coldRoot, CLAIM_KEY))).toEqual(claimed);

    // A replaced disk: the old one's id is gone (its process, still running, knows it).
    await rm(idFile);
    const taker = await open(newDataDir, coldRoot, { takeOverColdStore: true });
    expect(JSON.parse(await readFile(join(coldRoot, CLAIM_KEY), 'utf8'))).toMatchObject({ dataDir: newDataDir });
    expect(await taker.rebuildFromColdStore()).toMatchObject({ manifests: 1, created: 1, problems: [] });
    await taker.restoreSegment(first.segments[0]!.segmentPath);
    expect(await readFile(join(newDataDir, first.segments[0]!.segmentPath))).toEqual(archived);

    // The old owner, still running: its next archive asks first, and is refused; so is its refresh once its check is due.
    const before = await coldFiles(coldRoot);
    expect(old.coldStoreClaim).toMatchObject({ status: 'owned' }); // as last checked: nothing asked it since
    await expectTieringError(old.archiveSegment(first.segments[1]!.segmentPath), 'COLD_STORE_CLAIMED', /belongs to the data dir .*\/data on /);
    expect(old.getSegment(first.segments[1]!.segmentPath)).toMatchObject({ isArchived: false, state: 'idle' });
    // And it knows it, naming the new owner, for an operator (docs/ARCHITECTURE.md, "The cold store's owner").
    const lost = old.coldStoreClaim;
    expect(lost).toMatchObject({ status: 'claimed', owner: { dataDir: newDataDir, host: hostname() } });
    expect(lost.status === 'claimed' && lost.error.code).toBe('COLD_STORE_CLAIMED');
    expect(taker.coldStoreClaim).toMatchObject({ status: 'owned' });
    clock.skip += CLAIM_RECHECK_MS;
    await expectTieringError(old.refresh(), 'COLD_STORE_CLAIMED');
    // A cycle's refresh fails the same way, and the archiver keeps it.
    await expectTieringError(old.runCycle(), 'COLD_STORE_CLAIMED');
    expect(old.archiverStatus.lastCycle).toMatchObject({ report: undefined, failure: { operation: 'cycle', path: undefined, error: { code: 'COLD_STORE_CLAIMED' } } });
    expect(old.archiverStatus.lastSuccessAt).toBeUndefined();
    expect(await coldFiles(coldRoot)).toEqual(before);
  });

  it('asks again before a refresh deletes anything there: the old owner, its check not yet due, deletes none of the new owner’s archives', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const first = await dataDirWithSegments();
    await writeFile(join(first.dataDir, 'payments-0', 'partition.metadata'), `version: 0\ntopic_id: ${TOPIC_ID}`);
    const old = await open(first.dataDir, coldRoot);
    await old.archiveSegment(first.segments[0]!.segmentPath);

    // A replaced disk takes the prefix over; its only copy of the segment is the archive.
    const newDataDir = join(work, `broker-${runs++}`, 'data');
    await mkdir(newDataDir, { recursive: true });
    await rm(join(first.dataDir, DATA_DIR_ID_FILE));
    const taker = await open(newDataDir, coldRoot, { takeOverColdStore: true });
    expect(await taker.rebuildFromColdStore()).toMatchObject({ created: 1, problems: [] });
    const before = await coldFiles(coldRoot);

    // The old owner, still running, sees its topic deleted and created again, and refreshes
    // within CLAIM_RECHECK_MS of its last check: before, it deleted the archive as its deleted topic's.
    await rm(join(first.dataDir, 'payments-0'), { recursive: true });
    await writeSegment(first.dataDir, { topic: 'payments', partition: 0, baseOffset: 0n, logBytes: 32 * 1024, recordBytes: 300 });
    await writeFile(join(first.dataDir, 'payments-0', 'partition.metadata'), `version: 0\ntopic_id: ${OTHER_TOPIC_ID}`);
    await expectTieringError(old.refresh(), 'COLD_STORE_CLAIMED', new RegExp(`belongs to the data dir ${newDataDir}`));
    expect(await coldFiles(coldRoot)).toEqual(before);
    expect((await taker.restoreSegment(first.segments[0]!.segmentPath)).outcome).toBe('restored');
    expect(await readFile(join(newDataDir, first.segments[0]!.segmentPath))).toEqual(before.get(join(coldRoot, first.segments[0]!.segmentPath)));
  });

  it('asks again before an evict: the old owner keeps its local files, whose archive the new owner may delete as its own', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const first = await dataDirWithSegments();
    const old = await open(first.dataDir, coldRoot);
    const path = first.segments[0]!.segmentPath;
    await old.archiveSegment(path);
    await old.restoreSegment(path);
    const local = await readFile(first.segments[0]!.files.log);

    const newDataDir = join(work, `broker-${runs++}`, 'data');
    await mkdir(newDataDir, { recursive: true });
    await rm(join(first.dataDir, DATA_DIR_ID_FILE));
    await open(newDataDir, coldRoot, { takeOverColdStore: true });

    // Its check not yet due: before, the evict deleted the local copy on the strength of an archive it no longer owned.
    expect(old.coldStoreClaim).toMatchObject({ status: 'owned' });
    await expectTieringError(old.evictSegment(path), 'COLD_STORE_CLAIMED', new RegExp(`belongs to the data dir ${newDataDir}`));
    expect(await readFile(first.segments[0]!.files.log)).toEqual(local);
    expect(old.getSegment(path)).toMatchObject({ policy: expect.not.stringMatching(/^cold$/), state: 'idle' });
  });

  it('asks again before the manifest of an archive whose uploads took long: a take-over meanwhile gets no commit in its bucket', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const first = await dataDirWithSegments();
    const newDataDir = join(work, `broker-${runs++}`, 'data');
    await mkdir(newDataDir, { recursive: true });
    // While the old owner's uploads run (their time passing on the clock), a replaced disk takes the prefix over.
    let takeOver = true;
    const old = await open(first.dataDir, coldRoot, {}, async (step) => {
      if (step !== 'archive:files-verified' || !takeOver) return;
      takeOver = false;
      await rm(join(first.dataDir, DATA_DIR_ID_FILE));
      await open(newDataDir, coldRoot, { takeOverColdStore: true });
      clock.skip += MANIFEST_RECHECK_MS;
    });
    const path = first.segments[0]!.segmentPath;
    const local = await readFile(first.segments[0]!.files.log);

    // Before: it wrote its manifest there and deleted its local files, the archive in another's prefix its only copy.
    await expectTieringError(old.archiveSegment(path), 'COLD_STORE_CLAIMED', new RegExp(`belongs to the data dir ${newDataDir}`));
    expect(await readFile(join(coldRoot, manifestKeyOf(path))).catch((error: NodeJS.ErrnoException) => error.code)).toBe('ENOENT');
    expect(await readFile(first.segments[0]!.files.log)).toEqual(local);
    expect(old.getSegment(path)).toMatchObject({ isArchived: false, state: 'archiving' });
  });

  it('refuses a claim it cannot read, naming the key, until taken over', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const { dataDir, segments } = await dataDirWithSegments();
    await open(dataDir, coldRoot).then((tiered) => tiered.close());
    await writeFile(join(coldRoot, CLAIM_KEY), 'not json {');
    await expectTieringError(open(dataDir, coldRoot), 'COLD_STORE_CLAIMED', new RegExp(`holds a ${CLAIM_KEY.replaceAll('.', '\\.')} this version cannot read \\(not JSON\\)`));
    const tiered = await open(dataDir, coldRoot, { takeOverColdStore: true });
    expect((await tiered.archiveSegment(segments[0]!.segmentPath)).outcome).toBe('archived');
  });

  it('says so when the claim is this very data dir’s path under another id (its id file lost), and how to get it back', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const { dataDir, segments } = await dataDirWithSegments();
    await open(dataDir, coldRoot).then((tiered) => tiered.close());
    const idFile = join(dataDir, DATA_DIR_ID_FILE);
    const id = (await readFile(idFile, 'utf8')).trim();
    await rm(idFile);
    const refused = await expectTieringError(open(dataDir, coldRoot), 'COLD_STORE_CLAIMED');
    const made = (await readFile(idFile, 'utf8')).trim();
    expect(made).not.toBe(id);
    expect(refused.message).toContain(`the fs cold store's prefix was claimed by this data dir's path on this host, ${dataDir} on ${hostname()}`);
    expect(refused.message).toContain(`under the id ${id}, but ${idFile} holds ${made}, made just now since the file was missing`);
    expect(refused.message).toContain(`If it is the same data dir and its id file was lost, write ${id} into ${idFile}`);
    // Doing as it says gets the prefix back, without a take-over.
    await writeFile(idFile, `${id}\n`);
    const tiered = await open(dataDir, coldRoot);
    expect((await tiered.archiveSegment(segments[0]!.segmentPath)).outcome).toBe('archived');
  });

  it('removes the id file’s drafts a process killed while writing it left in the data dir', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const { dataDir } = await dataDirWithSegments();
    const drafts = [`${DATA_DIR_ID_FILE}.4242.tmp`, `${DATA_DIR_ID_FILE}.77.tmp`];
    for (const draft of drafts) await writeFile(join(dataDir, draft), '3f1c');
    await writeFile(join(dataDir, 'unrelated.tmp'), 'kept');
    await open(dataDir, coldRoot);
    const names = await readdir(dataDir);
    expect(names).toContain(DATA_DIR_ID_FILE);
    expect(names).toContain('unrelated.tmp');
    for (const draft of drafts) expect(names).not.toContain(draft);
  });

  it('refuses a data dir whose id file is damaged, rather than making a new id that would need a take-over', async () => {
    const coldRoot = join(work, `cold-${runs++}`);
    const { dataDir } = await dataDirWithSegments();
    await open(dataDir, coldRoot).then((tiered) => tiered.close());
    await writeFile(join(dataDir, DATA_DIR_ID_FILE), 'garbage\n');
    await expectTieringError(open(dataDir, coldRoot), 'LOCAL_FAILURE', /the data dir's id .*\.takhin-tiered\.id holds "garbage", not an id/);
  });
});

/**
 * A fresh MinIO prefix reached through a TCP proxy (`proxy.cut()` plays a store that does not
 * answer), and `open`, which opens a data dir on it with no retries.
 */
async function minioBehindProxy(): Promise<{ proxy: TcpProxy; open: (dataDir: string, options?: OpenOptions) => Promise<TieredStorage> }> {
  const backend = CRASH_BACKENDS.minio;
  await backend.setup!();
  const section = backend.section(1000 + runs++) as { s3: Record<string, unknown> };
  const proxy = new TcpProxy(Number(new URL(section.s3.endpoint as string).port));
  await proxy.open();
  const open = async (dataDir: string, options: OpenOptions = {}) => {
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...section, s3: { ...section.s3, endpoint: proxy.endpoint } } } });
    const container = createContainer(config, [fsProvider, s3Provider]);
    container.register(RETRY_POLICY, { useValue: { maxAttempts: 1 } });
    const tiered = await openTieredStorage(container, options);
    opened.push(tiered);
    return tiered;
  };
  return { proxy, open };
}

describe("the cold store's owner, on MinIO", () => {
  it('of two data dirs opening at once on an unclaimed prefix, exactly one gets it', async () => {
    const backend = CRASH_BACKENDS.minio;
    await backend.setup!();
    const section = backend.section(1000 + runs++);
    const attempts = await Promise.allSettled(
      [0, 1, 2].map(async () => {
        const { dataDir } = await dataDirWithSegments();
        const tiered = await openTieredStorage(createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...section } } }), [fsProvider, s3Provider]));
        opened.push(tiered);
        return tiered;
      }),
    );
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
    for (const attempt of attempts) if (attempt.status === 'rejected') expect(attempt.reason).toMatchObject({ code: 'COLD_STORE_CLAIMED' });
  });

  it('a take-over asked while the store is down happens at the first sync that reaches it; a rebuild never records another’s archives', async () => {
    const { proxy, open } = await minioBehindProxy();
    try {
      const owner = await dataDirWithSegments();
      const first = await open(owner.dataDir);
      await first.archiveSegment(owner.segments[0]!.segmentPath);
      await first.close();

      await proxy.cut();
      const taker = await open((await dataDirWithSegments()).dataDir, { takeOverColdStore: true });
      // Not asked: the store did not answer, and the claim says why.
      const unchecked = taker.coldStoreClaim;
      expect(unchecked).toMatchObject({ status: 'unchecked', error: { name: 'ColdStoreError', code: 'UNAVAILABLE' } });
      expect(unchecked.checkedAt).toBeGreaterThan(0);
      const other = await dataDirWithSegments();
      const bystander = await open(other.dataDir);
      await proxy.open();
      // Before: the rebuild recorded the owner's archive as this data dir's, and only then was refused.
      await expectTieringError(bystander.rebuildFromColdStore(), 'COLD_STORE_CLAIMED', new RegExp(`belongs to the data dir ${owner.dataDir} on `));
      expect(bystander.listSegments().filter((segment) => segment.isArchived)).toEqual([]);
      // The take-over asked at open happens at the first sync that reaches the store.
      await (await open(owner.dataDir)).close(); // still the owner's
      await rm(join(owner.dataDir, DATA_DIR_ID_FILE)); // the owner's disk, retired (a take-over of a data dir still here is refused)
      await taker.refresh();
      expect(taker.coldStoreClaim).toMatchObject({ status: 'owned' });
      await expectTieringError(open(owner.dataDir), 'COLD_STORE_CLAIMED', new RegExp(`belongs to the data dir ${taker.dataDir} on `));
    } finally {
      await proxy.cut();
    }
  });

  it('an archive asked before any sync reached the store makes the take-over open was told of', async () => {
    const { proxy, open } = await minioBehindProxy();
    try {
      const owner = await dataDirWithSegments();
      await (await open(owner.dataDir)).close();
      await rm(join(owner.dataDir, DATA_DIR_ID_FILE)); // the owner's disk, retired
      await proxy.cut();
      const replaced = await dataDirWithSegments();
      const taker = await open(replaced.dataDir, { takeOverColdStore: true });
      await proxy.open();
      // Before: refused COLD_STORE_CLAIMED, telling the operator to take over, which they had asked.
      expect((await taker.archiveSegment(replaced.segments[0]!.segmentPath)).outcome).toBe('archived');
      expect(taker.coldStoreClaim).toMatchObject({ status: 'owned' });
    } finally {
      await proxy.cut();
    }
  });

  it('opens while the store is down when a deleted topic left only never-archived records, which need no request', async () => {
    const { proxy, open } = await minioBehindProxy();
    try {
      const { dataDir, segments } = await dataDirWithSegments();
      await writeFile(join(dataDir, 'payments-0', 'partition.metadata'), `version: 0\ntopic_id: ${TOPIC_ID}`);
      await (await open(dataDir)).close(); // the prefix claimed, nothing archived
      // The topic deleted and created again (a new id) while the store does not answer.
      await rm(join(dataDir, 'payments-0'), { recursive: true });
      await writeSegment(dataDir, { topic: 'payments', partition: 0, baseOffset: 0n, logBytes: 32 * 1024, recordBytes: 300 });
      await writeFile(join(dataDir, 'payments-0', 'partition.metadata'), `version: 0\ntopic_id: ${OTHER_TOPIC_ID}`);
      await proxy.cut();
      // Before: open failed with the store's UNAVAILABLE, though forgetting these records asks the store nothing.
      const tiered = await open(dataDir);
      expect(tiered.coldStoreClaim).toMatchObject({ status: 'unchecked', error: { code: 'UNAVAILABLE' } });
      expect(tiered.lastReconciliation.deletedTopicSegments).toBe(3);
      expect(tiered.listSegments().map((segment) => [segment.path, segment.topicId])).toEqual([[segments[0]!.segmentPath, OTHER_TOPIC_ID]]);
      await tiered.refresh(); // and so does a refresh
    } finally {
      await proxy.cut();
    }
  });
});
