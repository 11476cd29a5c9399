import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLAIM_KEY,
  COLD_STORE,
  METADATA_STORE,
  TRANSFER_WORKERS,
  createContainer,
  loadConfig,
  openTieredStorage,
  type TieredStorage,
} from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { writeSegment } from '@takhin/testkit';
import type { DependencyContainer, InjectionToken } from 'tsyringe';

// Operations racing each other in one process, each reduced from what the concurrency stress
// test (concurrency-stress.test.ts) found, made deterministic with gates.

const HOUR = 3_600_000;
let work: string;
const opened: TieredStorage[] = [];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-rebuild-race-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Registers, in place of `token`'s instance, one whose member `name` is `replacement` while
 * `when()` holds (always, by default); every other member is the instance's own, bound to it.
 * `replacement` gets the instance, to call through to it.
 */
function intercept<T extends object, K extends keyof T>(container: DependencyContainer, token: InjectionToken<T>, name: K, replacement: (instance: T) => T[K], when: () => boolean = () => true): void {
  const instance = container.resolve<T>(token);
  container.register(token, {
    useValue: new Proxy(instance, {
      get(target, member) {
        if (member === name && when()) return replacement(target);
        const value = Reflect.get(target, member, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  });
}

/** A closed segment (returned) and the active one, on the embedded default. */
async function twoSegments(name: string): Promise<{ dataDir: string; path: string }> {
  const dataDir = join(work, name, 'data');
  return { dataDir, path: await agedPartition(dataDir, `${name}-race`, 0) };
}

/** A partition of an old closed segment (returned; the policy places it warm) and its active one. */
async function agedPartition(dataDir: string, topic: string, partition: number): Promise<string> {
  const paths: string[] = [];
  for (const [i, age] of [300, 1].entries()) {
    const segment = await writeSegment(dataDir, { topic, partition, baseOffset: BigInt(i * 1000), logBytes: 64 * 1024 });
    const time = new Date(Date.now() - age * HOUR);
    for (const file of Object.values(segment.files)) await utimes(file, time, time);
    paths.push(segment.segmentPath);
  }
  return paths[0]!;
}

describe('an archive aborted while its files upload', () => {
  it('waits for every upload to settle before it deletes what it uploaded: an object landing after the abort is not left behind', async () => {
    const { dataDir, path } = await twoSegments('abort');
    const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } }), [fsProvider]);
    // The .log's upload is a put past its commit point: it lands whatever the signal says (the
    // contract: a put whose object landed reports success), once `landed` opens. The others fail ABORTED at the abort.
    const landed = gate();
    intercept(container, TRANSFER_WORKERS, 'uploadFile', (pool) => async (file, key, backend, options) => {
      if (!key.endsWith('.log')) {
        await new Promise<void>((resolve) => (options?.signal?.aborted ? resolve() : options?.signal?.addEventListener('abort', () => resolve())));
        return pool.uploadFile(file, key, backend, options);
      }
      await landed.opened;
      return pool.uploadFile(file, key, backend, { ...options, signal: undefined });
    });
    const tiered = await openTieredStorage(container);
    opened.push(tiered);
    const abort = new AbortController();
    const archived = tiered.archiveSegment(path, { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    // Before it waited, the archive had rolled back (deleted its objects) by now, and the .log landed after.
    const early = await Promise.race([archived.then(() => 'resolved', () => 'rejected'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    landed.open();
    await expect(archived).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'warm', isArchived: false, state: 'idle' });
    const objects: string[] = [];
    for await (const object of tiered.store.list('')) objects.push(object.key);
    expect(objects, 'objects the rolled-back archive left').toEqual([CLAIM_KEY]);
    expect(early).toBe('waiting');
  });
});

describe('rebuildFromColdStore beside operations in flight', () => {
  it("an evict whose commit is still in flight when the rebuild commits: neither fails, and the evict's record stands", async () => {
    const { dataDir, path } = await twoSegments('rebuild');
    const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } }), [fsProvider]);
    // The rebuild's listing waits for `listed`; the evict's commit (cold) is made, then its answer waits for `committed`.
    const listed = gate();
    const committed = gate();
    const evictCommitting = gate();
    let holding = false;
    intercept(
      container,
      COLD_STORE,
      'list',
      (store) => (prefix) =>
        (async function* () {
          await listed.opened;
          yield* store.list(prefix);
        })(),
      () => holding,
    );
    intercept(container, METADATA_STORE, 'commit', (metadata) => async (writes) => {
      const done = metadata.commit(writes);
      if (holding && writes.some((write) => 'put' in write && write.put.path === path && write.put.policy === 'cold')) {
        evictCommitting.open();
        await committed.opened;
      }
      return done;
    });
    const tiered = await openTieredStorage(container);
    opened.push(tiered);
    await tiered.archiveSegment(path);
    await tiered.restoreSegment(path);
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'hot', isArchived: true });

    holding = true;
    const rebuilt = tiered.rebuildFromColdStore();
    const evicted = tiered.evictSegment(path);
    await evictCommitting.opened;
    // The rebuild reads the manifests and the data dir while the evict's commit is made but not yet answered.
    listed.open();
    const early = await Promise.race([rebuilt.then(() => 'resolved', (error: Error) => error), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    committed.open();
    holding = false;
    // It failed METADATA_CONFLICT ("changed under us") against the evict's commit in flight.
    expect(early, String(early)).not.toBeInstanceOf(Error);
    // The evict's record is left as the evict made it, and the report does not count it as the rebuild's.
    await expect(rebuilt).resolves.toMatchObject({ manifests: 1, created: 0, updated: 0, problems: [] });
    await expect(evicted).resolves.toBeDefined();
    expect(tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
  });
});

/**
 * Once `hold()` is called, holds the next refresh at its housekeeping call to the store (after it
 * has recorded the new segments it found, before it places them): `reached` opens there, and it
 * waits for `release`. Registered before open, which makes that call too.
 */
function refreshHolder(container: DependencyContainer): { hold(): void; reached: Promise<void>; release: () => void } {
  const reached = gate();
  const released = gate();
  let holding = false;
  intercept(
    container,
    COLD_STORE,
    'abortStaleUploads',
    (store) => async (olderThanMs) => {
      holding = false;
      reached.open();
      await released.opened;
      return store.abortStaleUploads!(olderThanMs);
    },
    () => holding,
  );
  return { hold: () => void (holding = true), reached: reached.opened, release: released.open };
}

describe('a refresh beside other work', () => {
  const config = (dataDir: string) => loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, 'auto.archive.enabled': false } } });

  it("places a segment it found only if nothing changed it meanwhile: an archive's commit stands", async () => {
    const { dataDir } = await twoSegments('refresh');
    const container = createContainer(config(dataDir), [fsProvider]);
    const held = refreshHolder(container);
    const tiered = await openTieredStorage(container);
    opened.push(tiered);
    held.hold();
    const path = await agedPartition(dataDir, 'refresh-race', 1);
    const refreshed = tiered.refresh();
    await held.reached;
    expect(tiered.getSegment(path)).toMatchObject({ isArchived: false });
    await tiered.archiveSegment(path);
    const archived = tiered.getSegment(path);
    expect(archived).toMatchObject({ isArchived: true, state: 'idle' });
    held.release();
    await refreshed;
    // Before, the placement wrote the record as the refresh had found it over the archive's: not archived.
    expect(tiered.getSegment(path)).toEqual(archived);
    await tiered.refresh();
    expect(tiered.getSegment(path)).toEqual(archived);
  });

  it('is waited for by close(), which shuts the stores only once it is done', async () => {
    const { dataDir } = await twoSegments('refresh-close');
    const container = createContainer(config(dataDir), [fsProvider]);
    const held = refreshHolder(container);
    const tiered = await openTieredStorage(container);
    held.hold();
    const path = await agedPartition(dataDir, 'refresh-close-race', 1);
    const refreshed = tiered.refresh();
    await held.reached;
    const closed = tiered.close();
    const early = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    held.release();
    // Before, close() shut the metadata store under the refresh, whose placement then failed.
    await expect(refreshed).resolves.toBeUndefined();
    await closed;
    expect(early).toBe('waiting');
    const reopened = await openTieredStorage(createContainer(config(dataDir), [fsProvider]));
    opened.push(reopened);
    expect(reopened.getSegment(path)).toMatchObject({ policy: 'warm', isArchived: false });
  });
});
