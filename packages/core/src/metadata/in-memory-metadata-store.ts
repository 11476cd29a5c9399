import { TieringError } from '../errors/tiering-error.js';
import { versionConflict } from './metadata-conflict.js';
import type { MetadataStore, MetadataWrite, RecordFilter } from './metadata-store.js';
import { inPages } from './record-pages.js';
import type { SegmentRecord } from './segment-record.js';

/** Records in a Map: for tests and for brokers that rebuild from the cold store at every start. */
export class InMemoryMetadataStore implements MetadataStore {
  readonly description = 'memory';
  readonly #records = new Map<string, SegmentRecord>();
  #closed = false;

  async *records(filter: RecordFilter = {}): AsyncIterable<readonly SegmentRecord[]> {
    this.#check();
    const matching = [...this.#records.values()].filter(
      (record) => (filter.topic === undefined || record.topic === filter.topic) && (filter.partition === undefined || record.partition === filter.partition),
    );
    yield* inPages(matching);
  }

  async get(path: string): Promise<SegmentRecord | undefined> {
    this.#check();
    return this.#records.get(path);
  }

  async commit(writes: readonly MetadataWrite[]): Promise<void> {
    this.#check();
    for (const write of writes) {
      const conflict = versionConflict(write, this.#records.get('put' in write ? write.put.path : write.delete)?.version);
      if (conflict) throw conflict;
    }
    for (const write of writes) {
      if ('put' in write) this.#records.set(write.put.path, write.put);
      else this.#records.delete(write.delete);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed) throw new TieringError('CLOSED', 'the in-memory metadata store is closed');
  }
}
