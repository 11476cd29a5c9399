import type { MetadataStore, MetadataWrite } from '../metadata/metadata-store.js';
import { SegmentIndex } from '../metadata/segment-index.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';

/** A record to write: everything but the version, which the catalog assigns. */
export type RecordDraft = Omit<SegmentRecord, 'version'>;

/**
 * The metadata store with the in-memory index in front: reads come from the index, writes go
 * to the store first (conditional on the version the index holds) and reach the index only
 * once durable. So the index never shows a state a crash could take back.
 */
export class SegmentCatalog {
  readonly index = new SegmentIndex();

  constructor(readonly store: MetadataStore) {}

  /** Fills the index from the store. */
  async load(): Promise<void> {
    for await (const page of this.store.records()) this.index.load(page);
  }

  get(path: string): SegmentRecord | undefined {
    return this.index.get(path);
  }

  /** Writes one record (new, or a change of the one in the index) durably; returns it as stored. */
  async put(draft: RecordDraft): Promise<SegmentRecord> {
    const [record] = await this.apply([draft], []);
    return record!;
  }

  /** Changes fields of the record at `path` durably. */
  async update(path: string, changes: Partial<RecordDraft>): Promise<SegmentRecord> {
    const current = this.index.get(path);
    if (!current) throw new Error(`no record for ${path}`);
    return this.put({ ...current, ...changes });
  }

  /**
   * Moves an idle record from tier `from` to `to`; undefined, and nothing written, when it is no
   * longer idle in `from` (a cycle's step planned before a manual archive or restore moved it).
   */
  async retier(path: string, from: Tier, to: Tier): Promise<SegmentRecord | undefined> {
    const current = this.index.get(path);
    return current?.policy === from && current.state === 'idle' ? this.put({ ...current, policy: to }) : undefined;
  }

  /** Writes `drafts` and deletes `deletions` in one durable commit. */
  async apply(drafts: readonly RecordDraft[], deletions: readonly string[]): Promise<SegmentRecord[]> {
    const records: SegmentRecord[] = [];
    const writes: MetadataWrite[] = [];
    for (const draft of drafts) {
      const current = this.index.get(draft.path);
      const record = withoutUndefined({ ...draft, version: (current?.version ?? 0) + 1 });
      records.push(record);
      writes.push({ put: record, ifVersion: current?.version ?? 'absent' });
    }
    for (const path of deletions) {
      const current = this.index.get(path);
      if (current) writes.push({ delete: path, ifVersion: current.version });
    }
    await this.store.commit(writes);
    for (const record of records) this.index.set(record);
    for (const path of deletions) this.index.delete(path);
    return records;
  }
}

/** Drops `undefined` fields, so a cleared optional field is absent rather than present-but-empty. */
function withoutUndefined(record: SegmentRecord): SegmentRecord {
  for (const key of Object.keys(record) as (keyof SegmentRecord)[]) if (record[key] === undefined) delete (record as Partial<SegmentRecord>)[key];
  return record;
}
