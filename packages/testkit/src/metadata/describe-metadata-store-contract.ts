import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeyOf, segmentPathOf, type MetadataStore, type SegmentRecord } from '@takhin/core';
import { collect } from '../contract/assertions.js';
import { expectTieringError } from '../tiering/tiering-assertions.js';

/** What the metadata suite needs from a store under test. */
export interface MetadataStoreSubject {
  /** A fresh, empty store. */
  open(): MetadataStore | Promise<MetadataStore>;
  /**
   * The same records through a new instance (the store's file or database reopened), for stores
   * that outlive their process. Omitted for stores that do not (memory).
   */
  reopen?(previous: MetadataStore): MetadataStore | Promise<MetadataStore>;
  cleanup?(): Promise<void>;
}

/** A record with every field set, optional ones included; `n` varies the path and values. */
export function sampleRecord(n: number, fields: Partial<SegmentRecord> = {}): SegmentRecord {
  const topic = fields.topic ?? (n % 2 === 0 ? 'orders' : 'audit.log-v2');
  const partition = fields.partition ?? n % 3;
  const baseOffset = fields.baseOffset ?? n * 1000;
  const path = segmentPathOf(topic, partition, baseOffset);
  const isArchived = fields.isArchived ?? true;
  const checksums = { crc32c: 'ie++sA==', sha256: `${n}`.padStart(64, '0') };
  const record: SegmentRecord = {
    path,
    topic,
    partition,
    baseOffset,
    size: 1_048_576 + n,
    // The record keeps the .log's checksums; every file's are in the segment's manifest.
    files: { log: { size: 1_048_576 + n, checksums }, index: { size: 8 * n }, timeindex: { size: 12 * n } },
    lastModified: Date.UTC(2026, 0, 1) + n,
    lastAccessAt: Date.UTC(2026, 0, 2) + n,
    policy: 'cold',
    isArchived,
    checksums,
    archivedAt: Date.UTC(2026, 0, 3) + n,
    state: 'idle',
    version: 1,
    ...fields,
  };
  // An archive lives under the segment's own path.
  return isArchived ? { ...record, objectKey: objectKeyOf(path) } : record;
}

/**
 * The `MetadataStore` contract: one suite every store passes (SQLite, memory, a networked one
 * later). Records round-trip field for field, commits are all-or-nothing and conditional on
 * versions, listings page and filter, and a store that outlives its process keeps everything.
 */
export function describeMetadataStoreContract(name: string, subject: MetadataStoreSubject): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    beforeAll(async () => {
      store = await subject.open();
    });
    afterAll(async () => {
      await store?.close();
      await subject.cleanup?.();
    });

    it('starts empty', async () => {
      const fresh = await subject.open();
      expect((await collect(fresh.records())).flat()).toEqual([]);
      expect(await fresh.get('orders-0/00000000000000000000.log')).toBeUndefined();
      await fresh.close();
    });

    it('round-trips a record field for field, optional fields included and absent', async () => {
      const full = sampleRecord(1, { topicId: 'HShgCd_Pq0sIZAZQ3EO_2w' });
      const bare: SegmentRecord = {
        path: 'orders-9/00000000000000000042.log',
        topic: 'orders',
        partition: 9,
        baseOffset: 42,
        size: 0,
        files: { log: { size: 0 } },
        lastModified: 1,
        lastAccessAt: 2,
        policy: 'hot',
        isArchived: false,
        state: 'archiving',
        version: 1,
      };
      await store.commit([{ put: full }, { put: bare }]);
      expect(await store.get(full.path)).toEqual(full);
      expect(await store.get(bare.path)).toEqual(bare);
    });

    it('keeps offsets up to 2^53 exactly', async () => {
      const big = sampleRecord(2, { baseOffset: Number.MAX_SAFE_INTEGER - 1 });
      await store.commit([{ put: big }]);
      expect((await store.get(big.path))?.baseOffset).toBe(Number.MAX_SAFE_INTEGER - 1);
    });

    it('replaces a record with a newer version when the version it read still holds', async () => {
      const first = sampleRecord(3, { policy: 'hot', isArchived: false });
      await store.commit([{ put: first, ifVersion: 'absent' }]);
      const second = { ...first, policy: 'warm' as const, version: 2 };
      await store.commit([{ put: second, ifVersion: 1 }]);
      expect(await store.get(first.path)).toEqual(second);
    });

    it('refuses a write whose version no longer holds, with METADATA_CONFLICT, writing nothing of the commit', async () => {
      const a = sampleRecord(4);
      const b = sampleRecord(5);
      await store.commit([{ put: a }]);
      await expectTieringError(store.commit([{ put: b }, { put: { ...a, version: 3 }, ifVersion: 2 }]), 'METADATA_CONFLICT');
      expect(await store.get(b.path)).toBeUndefined();
      expect(await store.get(a.path)).toEqual(a);
      await expectTieringError(store.commit([{ put: a, ifVersion: 'absent' }]), 'METADATA_CONFLICT');
      await expectTieringError(store.commit([{ delete: a.path, ifVersion: 7 }]), 'METADATA_CONFLICT');
      expect(await store.get(a.path)).toEqual(a);
    });

    it('deletes, idempotently', async () => {
      const a = sampleRecord(6);
      await store.commit([{ put: a }]);
      await store.commit([{ delete: a.path, ifVersion: 1 }]);
      expect(await store.get(a.path)).toBeUndefined();
      await store.commit([{ delete: a.path }]);
    });

    it('lists every record once in pages, and filters by topic and partition', async () => {
      const fresh = await subject.open();
      const records = Array.from({ length: 25_003 }, (_, n) => sampleRecord(n, { baseOffset: n }));
      for (let i = 0; i < records.length; i += 5_000) await fresh.commit(records.slice(i, i + 5_000).map((put) => ({ put })));
      const pages = await collect(fresh.records());
      expect(pages.length).toBeGreaterThan(1);
      const listed = pages.flat();
      expect(listed).toHaveLength(records.length);
      expect(new Set(listed.map((r) => r.path)).size).toBe(records.length);
      const orders1 = (await collect(fresh.records({ topic: 'orders', partition: 1 }))).flat();
      expect(orders1.length).toBe(records.filter((r) => r.topic === 'orders' && r.partition === 1).length);
      expect(orders1.every((r) => r.topic === 'orders' && r.partition === 1)).toBe(true);
      expect((await collect(fresh.records({ topic: 'audit.log-v2' }))).flat()).toHaveLength(records.filter((r) => r.topic === 'audit.log-v2').length);
      await fresh.close();
    });

    it('fails with CLOSED once closed', async () => {
      const fresh = await subject.open();
      await fresh.close();
      await expectTieringError(fresh.get('orders-0/00000000000000000000.log'), 'CLOSED');
      await expectTieringError(fresh.commit([{ put: sampleRecord(7) }]), 'CLOSED');
    });

    if (subject.reopen) {
      const reopen = subject.reopen;
      it('keeps every committed record across a reopen, and nothing of a refused commit', async () => {
        const fresh = await subject.open();
        const kept = [sampleRecord(10), sampleRecord(11, { policy: 'hot', isArchived: false, state: 'restoring' })];
        await fresh.commit(kept.map((put) => ({ put })));
        await expectTieringError(fresh.commit([{ put: sampleRecord(12) }, { delete: kept[0]!.path, ifVersion: 9 }]), 'METADATA_CONFLICT');
        const again = await reopen(fresh);
        expect((await collect(again.records())).flat().sort((a, b) => a.path.localeCompare(b.path))).toEqual(kept.sort((a, b) => a.path.localeCompare(b.path)));
        await again.close();
      });
    }
  });
}
