import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { TieringError } from '../errors/tiering-error.js';
import { versionConflict } from './metadata-conflict.js';
import type { MetadataStore, MetadataWrite, RecordFilter } from './metadata-store.js';
import type { SegmentFiles, SegmentRecord, SegmentState, Tier } from './segment-record.js';

/**
 * Schema migrations, in order: `PRAGMA user_version` is the number applied. Append, never edit:
 * a file written by an older release is brought forward at open, one transaction per step.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE segments (
     path           TEXT PRIMARY KEY,
     topic          TEXT NOT NULL,
     partition      INTEGER NOT NULL,
     base_offset    INTEGER NOT NULL,
     size           INTEGER NOT NULL,
     files          TEXT NOT NULL,
     last_modified  INTEGER NOT NULL,
     last_access_at INTEGER NOT NULL,
     policy         TEXT NOT NULL CHECK (policy IN ('hot', 'warm', 'cold')),
     is_archived    INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
     object_key     TEXT,
     archived_at    INTEGER,
     state          TEXT NOT NULL CHECK (state IN ('idle', 'archiving', 'restoring')),
     version        INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX segments_by_partition ON segments (topic, partition, base_offset);`,
];

const COLUMNS = 'path, topic, partition, base_offset, size, files, last_modified, last_access_at, policy, is_archived, object_key, archived_at, state, version';
const PAGE = 10_000;

interface Row {
  path: string;
  topic: string;
  partition: number;
  base_offset: number;
  size: number;
  files: string;
  last_modified: number;
  last_access_at: number;
  policy: Tier;
  is_archived: number;
  object_key: string | null;
  archived_at: number | null;
  state: SegmentState;
  version: number;
}

/**
 * The embedded default: one SQLite file (node:sqlite) under the data dir. WAL journal with
 * `synchronous = FULL`, so a commit that resolved survives a crash or power cut; the schema
 * carries a version and migrates forward at open.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly description: string;
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #version: StatementSync;
  readonly #upsert: StatementSync;
  readonly #delete: StatementSync;
  #closed = false;

  constructor(readonly path: string) {
    this.description = `sqlite ${path}`;
    mkdirSync(dirname(path), { recursive: true });
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      migrate(this.#db, path);
    } catch (error) {
      if (error instanceof TieringError) throw error;
      throw new TieringError('METADATA_FAILURE', `cannot open the metadata file ${path}: ${(error as Error).message}`, undefined, { cause: error });
    }
    this.#get = this.#db.prepare(`SELECT ${COLUMNS} FROM segments WHERE path = ?`);
    this.#version = this.#db.prepare('SELECT version FROM segments WHERE path = ?');
    this.#upsert = this.#db.prepare(
      `INSERT INTO segments (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET topic = excluded.topic, partition = excluded.partition,
         base_offset = excluded.base_offset, size = excluded.size, files = excluded.files,
         last_modified = excluded.last_modified, last_access_at = excluded.last_access_at,
         policy = excluded.policy, is_archived = excluded.is_archived, object_key = excluded.object_key,
         archived_at = excluded.archived_at, state = excluded.state, version = excluded.version`,
    );
    this.#delete = this.#db.prepare('DELETE FROM segments WHERE path = ?');
  }

  async *records(filter: RecordFilter = {}): AsyncIterable<readonly SegmentRecord[]> {
    this.#check();
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.topic !== undefined) {
      where.push('topic = ?');
      params.push(filter.topic);
    }
    if (filter.partition !== undefined) {
      where.push('partition = ?');
      params.push(filter.partition);
    }
    const statement = this.#db.prepare(`SELECT ${COLUMNS} FROM segments${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`);
    let page: SegmentRecord[] = [];
    for (const row of statement.iterate(...params)) {
      page.push(fromRow(row as unknown as Row));
      if (page.length === PAGE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async get(path: string): Promise<SegmentRecord | undefined> {
    this.#check();
    const row = this.#get.get(path) as Row | undefined;
    return row && fromRow(row);
  }

  async commit(writes: readonly MetadataWrite[]): Promise<void> {
    this.#check();
    if (writes.length === 0) return;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const write of writes) {
        const path = 'put' in write ? write.put.path : write.delete;
        const stored = this.#version.get(path) as { version: number } | undefined;
        const conflict = versionConflict(write, stored?.version);
        if (conflict) throw conflict;
        if ('put' in write) this.#upsert.run(...toRow(write.put));
        else this.#delete.run(path);
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #check(): void {
    if (this.#closed) throw new TieringError('CLOSED', `the metadata store ${this.path} is closed`);
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const { user_version: applied } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  if (applied > MIGRATIONS.length) {
    throw new TieringError('METADATA_FAILURE', `the metadata file ${path} has schema version ${applied}, newer than this release knows (${MIGRATIONS.length}); upgrade Takhin`);
  }
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}

function toRow(r: SegmentRecord): (string | number | null)[] {
  return [
    r.path,
    r.topic,
    r.partition,
    r.baseOffset,
    r.size,
    JSON.stringify(r.files),
    r.lastModified,
    r.lastAccessAt,
    r.policy,
    r.isArchived ? 1 : 0,
    r.objectKey ?? null,
    r.archivedAt ?? null,
    r.state,
    r.version,
  ];
}

function fromRow(row: Row): SegmentRecord {
  const files = JSON.parse(row.files) as SegmentFiles;
  const record: {
    -readonly [K in keyof SegmentRecord]: SegmentRecord[K];
  } = {
    path: row.path,
    topic: row.topic,
    partition: row.partition,
    baseOffset: row.base_offset,
    size: row.size,
    files,
    lastModified: row.last_modified,
    lastAccessAt: row.last_access_at,
    policy: row.policy,
    isArchived: row.is_archived === 1,
    state: row.state,
    version: row.version,
  };
  if (row.object_key !== null) record.objectKey = row.object_key;
  if (files.log.checksums) record.checksums = files.log.checksums;
  if (row.archived_at !== null) record.archivedAt = row.archived_at;
  return record;
}
