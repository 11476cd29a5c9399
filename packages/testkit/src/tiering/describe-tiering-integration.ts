import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createManifest,
  localBytesOf,
  remoteBytesOf,
  manifestKeyOf,
  objectKeyOf,
  parseManifest,
  readLogBatchHeaders,
  serializeManifest,
} from '@takhin/core';
import { readAll } from '../bodies/patterned-body.js';
import { expectTieringError } from './tiering-assertions.js';
import { failOnceAt, keysOf, localSums, sha256File, TieringBrokers, type TieringSubject } from './tiering-brokers.js';

export type { TieringSubject } from './tiering-brokers.js';

const KiB = 1024;

/**
 * The tiering protocols against one backend, wired the way a user wires them (`loadConfig`,
 * `createContainer`, `openTieredStorage`): a cycle archives, restores bring the same bytes back,
 * evictions upload nothing, retries reuse what is verified, missing or corrupt remote copies
 * fail clearly with nothing half-written, an existing manifest is never overwritten, the
 * metadata can be rebuilt from the manifests alone, and `readAt` serves archived segments in
 * verified ranges.
 */
export function describeTieringIntegration(name: string, subject: TieringSubject): void {
  describe(`tiering integration: ${name}`, () => {
    const brokers = new TieringBrokers(name, subject);
    beforeAll(() => brokers.setUp());
    afterAll(() => brokers.tearDown());

    it('a cycle archives every closed segment; restores bring back the same bytes; evicting uploads nothing', async () => {
      const b = await brokers.start();
      const archived: string[] = [];
      b.tiered.on('segment:archived', (segment) => archived.push(segment.path));
      const report = await b.tiered.runCycle();
      expect(report).toMatchObject({ archived: b.closed.length, failed: 0 });
      expect(archived.sort()).toEqual([...b.closed].sort());
      for (const path of b.closed) {
        expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
        expect(await localSums(b, path)).toEqual({});
      }
      expect(b.tiered.getStats()).toMatchObject({ coldSegments: b.closed.length, archivedSegments: b.closed.length });

      for (const path of b.closed) {
        const restored = await b.tiered.restoreSegment(path);
        expect(restored.outcome).toBe('restored');
        expect(restored.segment).toMatchObject({ policy: 'hot', isArchived: true });
        expect(await localSums(b, path)).toEqual(b.originals.get(path));
      }
      archived.length = 0;
      const evicted: string[] = [];
      b.tiered.on('segment:evicted', (segment) => evicted.push(segment.path));
      for (const path of b.closed) {
        const local = localBytesOf(b.tiered.getSegment(path));
        expect(await b.tiered.evictSegment(path)).toMatchObject({ outcome: 'evicted', freedBytes: local, segment: { policy: 'cold' } });
        expect(await b.tiered.evictSegment(path), 'evicting again').toMatchObject({ outcome: 'already-cold', freedBytes: 0 });
      }
      expect(evicted.sort()).toEqual([...b.closed].sort());
      expect(archived, 'evicting uploads nothing').toEqual([]);
      for (const path of b.closed) expect(await localSums(b, path)).toEqual({});

      // Restored again after an eviction: still the same bytes.
      const [first] = b.closed;
      await b.tiered.openSegment(first!);
      expect(await localSums(b, first!)).toEqual(b.originals.get(first!));
    });

    it('concurrent readers of one archived segment share a single restore', async () => {
      const b = await brokers.start();
      const [path] = b.closed;
      await b.tiered.archiveSegment(path!);
      let restores = 0;
      b.tiered.on('segment:restored', () => restores++);
      const opened = await Promise.all(Array.from({ length: 6 }, () => b.tiered.openSegment(path!)));
      expect(restores).toBe(1);
      expect(new Set(opened.map((o) => o.files.log)).size).toBe(1);
      expect(await sha256File(opened[0]!.files.log)).toBe(b.originals.get(path!)!.log);
    });

    it('one reader giving up does not fail the restore it shares with others; it stops waiting at once', async () => {
      const giveUp = new AbortController();
      const b = await brokers.start({ observer: (step) => step === 'restore:file-downloaded' && giveUp.abort(new Error('the consumer went away')) });
      const path = b.closed[0]!;
      await b.tiered.archiveSegment(path);
      const [gaveUp, stayed] = await Promise.allSettled([b.tiered.openSegment(path, { signal: giveUp.signal }), b.tiered.openSegment(path)]);
      expect(gaveUp).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED', message: expect.stringContaining(path) } });
      expect(stayed.status).toBe('fulfilled');
      expect(await localSums(b, path)).toEqual(b.originals.get(path));
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'hot', state: 'idle' });
    });

    it('a retry after a failure finishes the archive and uploads nothing already verified', async () => {
      const b = await brokers.start({ observer: failOnceAt('archive:files-verified') });
      const path = b.closed[2]!;
      await expect(b.tiered.archiveSegment(path)).rejects.toThrow(/injected failure/);
      expect(b.tiered.getSegment(path)).toMatchObject({ state: 'archiving', isArchived: false, policy: 'warm' });
      expect(b.tiered.plan({ changesOnly: true }).find((step) => step.path === path)?.action).toBe('archive');
      const retry = await b.tiered.archiveSegment(path);
      expect(retry).toMatchObject({ outcome: 'archived', uploadedBytes: 0, reusedFiles: Object.keys(b.originals.get(path)!).length });
      expect(await b.tiered.archiveSegment(path)).toMatchObject({ outcome: 'already-archived', uploadedBytes: 0 });
      await b.tiered.restoreSegment(path);
      expect(await localSums(b, path)).toEqual(b.originals.get(path));
    });

    it('a restore whose remote copy is missing fails clearly, leaves no partial file and keeps the metadata honest', async () => {
      const b = await brokers.start();
      const path = b.closed[1]!;
      await b.tiered.archiveSegment(path);
      const store = b.tiered.store;
      await store.delete(objectKeyOf(path, 'timeindex'));
      await expectTieringError(b.tiered.restoreSegment(path), 'REMOTE_MISSING', /its \.timeindex is missing from the \w+ cold store \(key .*\.timeindex\)/);
      expect(await localSums(b, path)).toEqual({});
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
      await store.delete(manifestKeyOf(path));
      await expectTieringError(b.tiered.restoreSegment(path), 'REMOTE_MISSING', /its manifest .*manifest\.json is not in the/);
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', state: 'idle' });
    });

    it('a restore aborted once its files are down stops before anything is renamed, leaves no file and keeps the segment cold', async () => {
      const stop = new AbortController();
      let downloaded = 0;
      let files = 0; // the segment's, once it is known
      // Aborted as the last file lands: every download has succeeded, only the renames are left.
      const b = await brokers.start({ observer: (step) => step === 'restore:file-downloaded' && ++downloaded === files && stop.abort(new Error('the broker is stopping')) });
      const path = b.closed[0]!;
      files = Object.keys(b.originals.get(path)!).length;
      await b.tiered.archiveSegment(path);
      await expect(b.tiered.restoreSegment(path, { signal: stop.signal })).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await localSums(b, path)).toEqual({});
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
      await b.tiered.restoreSegment(path);
      expect(await localSums(b, path)).toEqual(b.originals.get(path));
    });

    it('a restore of a corrupt remote copy fails with REMOTE_CORRUPT and never writes the wrong bytes', async () => {
      const b = await brokers.start();
      const path = b.closed[0]!;
      await b.tiered.archiveSegment(path);
      const store = b.tiered.store;
      const key = objectKeyOf(path, 'log');
      const bytes = await readAll(await store.get(key));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      await store.put(key, bytes);
      await expectTieringError(b.tiered.restoreSegment(path), 'REMOTE_CORRUPT', /\.log in the .* cold store .* is corrupt/);
      expect(await localSums(b, path)).toEqual({});
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
    });

    it('readAt serves an archived segment in verified ranges without restoring it: the local copy\'s bytes; a flipped byte is REMOTE_CORRUPT', async () => {
      const b = await brokers.start();
      const path = b.closed[2]!;
      const batches = await readLogBatchHeaders(join(b.dataDir, path));
      // Both ends, a batch on each side of the 4 MiB chunk boundary, and one inside a batch.
      const boundary = batches.findIndex((batch) => batch.position + batch.header.sizeInBytes > 4 * 1024 * KiB);
      const offsets = [batches[0]!, batches[boundary - 1]!, batches[boundary]!, batches[boundary + 1]!, batches.at(-1)!].flatMap(({ header }) => [header.baseOffset, header.lastOffset]);
      const read = async (offset: bigint, maxBytes: number) => {
        const result = await b.tiered.readAt('orders.v2', 1, Number(offset), { maxBytes });
        return { source: result.source, position: result.position, nextOffset: result.nextOffset, bytes: result.bytes.toString('base64') };
      };
      const local = [];
      for (const offset of offsets) for (const maxBytes of [1, 300 * KiB]) local.push(await read(offset, maxBytes));
      expect(local.every((result) => result.source === 'local')).toBe(true);
      await b.tiered.archiveSegment(path);
      const remote = [];
      for (const offset of offsets) for (const maxBytes of [1, 300 * KiB]) remote.push(await read(offset, maxBytes));
      expect(remote).toEqual(local.map((result) => ({ ...result, source: 'remote' })));
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true });
      expect(await localSums(b, path)).toEqual({});

      // The same object with one byte flipped in its second chunk, read with the chunk cache emptied.
      const key = objectKeyOf(path, 'log');
      const bytes = await readAll(await b.tiered.store.get(key));
      bytes[batches.at(-1)!.position + 40]! ^= 0x01;
      await b.tiered.store.put(key, bytes);
      await b.tiered.close();
      await rm(join(`${b.dataDir}-tiered`, 'cache'), { recursive: true });
      const again = await brokers.restart(b);
      await expectTieringError(again.readAt('orders.v2', 1, Number(batches.at(-1)!.header.baseOffset)), 'REMOTE_CORRUPT', /chunk 1 of its \.log in the .* cold store .* is corrupt: CRC32C/);
      expect((await again.readAt('orders.v2', 1, Number(batches[0]!.header.baseOffset), { maxBytes: 1 })).position).toBe(0);
    });

    it('an archive finding a manifest already there compares it and never overwrites it', async () => {
      const first = await brokers.start();
      const [same, different] = [first.closed[0]!, first.closed[1]!];
      // The bucket holds the archive of `same`, then the metadata file is lost with it restored locally.
      await first.tiered.archiveSegment(same);
      await first.tiered.restoreSegment(same);
      const b = { ...first, tiered: await brokers.reopenWithoutMetadata(first) };
      expect(b.tiered.getSegment(same)).toMatchObject({ isArchived: false });
      expect(await b.tiered.archiveSegment(same)).toMatchObject({ outcome: 'archived', uploadedBytes: 0 });

      // A valid manifest of other content under `different`'s key, as if the path once held other data.
      const store = b.tiered.store;
      const theirs = parseManifest(await readAll(await store.get(manifestKeyOf(same))), same);
      const foreign = createManifest({ ...theirs, segment: different, files: { ...theirs.files, log: { ...theirs.files.log, key: objectKeyOf(different) } } });
      await store.put(manifestKeyOf(different), serializeManifest(foreign));
      await expectTieringError(b.tiered.archiveSegment(different), 'REMOTE_CORRUPT', /already holds a different archive of it .*nothing was uploaded or deleted/);
      expect(parseManifest(await readAll(await store.get(manifestKeyOf(different))), different)).toEqual(foreign);
      expect(await localSums(b, different)).toEqual(b.originals.get(different));
      expect(b.tiered.getSegment(different)).toMatchObject({ isArchived: false, state: 'idle' });
    });

    it('an archive finding its manifest already there deletes no local file until every object it lists is verified', async () => {
      // Interrupted after its manifest (here by a failure, as by a crash or a lost metadata file), then an object goes missing.
      const b = await brokers.start({ observer: failOnceAt('archive:manifest-written') });
      const path = b.closed[0]!;
      await expect(b.tiered.archiveSegment(path)).rejects.toThrow(/injected failure/);
      await b.tiered.store.delete(objectKeyOf(path, 'log'));
      // The local copy is whole: the broken archive is replaced, never trusted.
      const retry = await b.tiered.archiveSegment(path);
      expect(retry).toMatchObject({ outcome: 'archived', uploadedBytes: remoteBytesOf(retry.segment) });
      await b.tiered.restoreSegment(path);
      expect(await localSums(b, path)).toEqual(b.originals.get(path));

      // The same after a lost metadata file: the archive of a restored segment lost an object.
      const other = b.closed[1]!;
      await b.tiered.archiveSegment(other);
      await b.tiered.restoreSegment(other);
      await b.tiered.store.delete(objectKeyOf(other, 'timeindex'));
      const again = await brokers.reopenWithoutMetadata(b);
      expect(await again.archiveSegment(other)).toMatchObject({ outcome: 'archived', reusedFiles: 0 });
      await again.restoreSegment(other);
      expect(await localSums(b, other)).toEqual(b.originals.get(other));
    });

    it('a damaged manifest or a missing object stops only its own segment: the store still opens, and nothing local is lost', async () => {
      const b = await brokers.start({ observer: failOnceAt('archive:manifest-written') });
      const [interrupted, damaged] = [b.closed[0]!, b.closed[1]!];
      const store = b.tiered.store;
      // An archive interrupted after its manifest, whose .index then goes missing.
      await expect(b.tiered.archiveSegment(interrupted)).rejects.toThrow(/injected failure/);
      await store.delete(objectKeyOf(interrupted, 'index'));
      // A segment whose manifest key holds something that is not a manifest: refused, left local and idle.
      await store.put(manifestKeyOf(damaged), Buffer.from('{"not": "a manifest"}'));
      await expectTieringError(b.tiered.archiveSegment(damaged), 'REMOTE_CORRUPT', new RegExp(`cannot archive ${damaged}: the manifest of ${damaged} .* is unusable: .*nothing was uploaded or deleted`));
      expect(b.tiered.getSegment(damaged)).toMatchObject({ isArchived: false, state: 'idle' });

      const tiered = await brokers.restart(b);
      expect(tiered.lastReconciliation).toMatchObject({ archivesRolledBack: 1, problems: [] });
      expect(tiered.getSegment(interrupted)).toMatchObject({ isArchived: false, state: 'idle' });
      expect(await keysOf(tiered, interrupted)).toEqual([]);
      expect(await localSums(b, interrupted)).toEqual(b.originals.get(interrupted));
      expect(await localSums(b, damaged)).toEqual(b.originals.get(damaged));
      expect((await tiered.archiveSegment(interrupted)).outcome).toBe('archived');

      // An archive committed but stopped before its local deletes, whose manifest is then damaged.
      const beforeDeletes = await brokers.start({ observer: failOnceAt('archive:committed') });
      const coldWithFiles = beforeDeletes.closed[0]!;
      await expect(beforeDeletes.tiered.archiveSegment(coldWithFiles)).rejects.toThrow(/injected failure/);
      expect(beforeDeletes.tiered.getSegment(coldWithFiles)).toMatchObject({ policy: 'cold', isArchived: true });
      await beforeDeletes.tiered.store.put(manifestKeyOf(coldWithFiles), Buffer.from('garbage'));
      await beforeDeletes.tiered.refresh();
      expect(beforeDeletes.tiered.lastReconciliation.problems).toEqual([expect.stringMatching(new RegExp(`${coldWithFiles}: recorded as archived, but the manifest .* is unusable: not JSON .*kept the local files`))]);
      expect(beforeDeletes.tiered.getSegment(coldWithFiles)).toMatchObject({ policy: 'hot', isArchived: false, state: 'idle' });
      await brokers.restart(beforeDeletes);
      expect(await localSums(beforeDeletes, coldWithFiles)).toEqual(beforeDeletes.originals.get(coldWithFiles));
    });

    it('rebuildFromColdStore keeps the record of a segment whose manifest it cannot read', async () => {
      const b = await brokers.start();
      const path = b.closed[0]!;
      await b.tiered.archiveSegment(path);
      const key = manifestKeyOf(path);
      const bytes = await readAll(await b.tiered.store.get(key));
      bytes[bytes.length - 10]! ^= 0x01;
      await b.tiered.store.put(key, bytes);
      const report = await b.tiered.rebuildFromColdStore();
      expect(report).toMatchObject({ dropped: 0, unarchived: 0, problems: [expect.stringMatching(new RegExp(`^${path}: .*its digest does not match.*; its record is left as it is$`))] });
      expect(b.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true });
    });

    it('rebuildFromColdStore recreates the metadata of every archived segment from the manifests alone', async () => {
      const b = await brokers.start();
      await b.tiered.runCycle();
      const before = b.closed.map((path) => b.tiered.getSegment(path));
      const again = await brokers.reopenWithoutMetadata(b);
      expect(() => again.getSegment(b.closed[0]!)).toThrow(/no segment/);
      const report = await again.rebuildFromColdStore();
      expect(report).toMatchObject({ manifests: b.closed.length, created: b.closed.length, problems: [] });
      for (const previous of before) {
        const rebuilt = again.getSegment(previous.path);
        expect(rebuilt).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle', files: previous.files, checksums: previous.checksums, objectKey: previous.objectKey });
      }
      await again.restoreSegment(b.closed[2]!);
      expect(await localSums(b, b.closed[2]!)).toEqual(b.originals.get(b.closed[2]!));
    });
  });
}
