import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { TieringError } from '../errors/tiering-error.js';
import { versionConflict } from './metadata-conflict.js';
import type { MetadataStore, MetadataWrite, RecordFilter } from './metadata-store.js';
import { inPages } from './record-pages.js';
import type { SegmentFile, SegmentFiles, SegmentRecord, SegmentState, Tier } from './segment-record.js';

/**
 * Schema migrations, in order: `PRAGMA user_version` is the number applied. Append, never edit:
 * a file written by an older release is brought forward at open, one transaction per step.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE segments (
     path             TEXT PRIMARY KEY,
     topic            TEXT NOT NULL,
     partition        INTEGER NOT NULL,
     base_offset      INTEGER NOT NULL,
     log_size         INTEGER NOT NULL,
     log_crc32c       TEXT,
     log_sha256       TEXT,
     index_size       INTEGER,
     index_crc32c     TEXT,
     index_sha256     TEXT,
     timeindex_size   INTEGER,
     timeindex_crc32c TEXT,
     timeindex_sha256 TEXT,
     txnindex_size    INTEGER,
     txnindex_crc32c  TEXT,
     txnindex_sha256  TEXT,
     last_modified    INTEGER NOT NULL,
     last_access_at   INTEGER NOT NULL,
     policy           TEXT NOT NULL CHECK (policy IN ('hot', 'warm', 'cold')),
     is_archived      INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
     object_key       TEXT,
     archived_at      INTEGER,
     state            TEXT NOT NULL CHECK (state IN ('idle', 'archiving', 'restoring')),
     version          INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX segments_by_partition ON segments (topic, partition, base_offset);`,
];

// Files are columns, not a JSON blob: reopening a million records parses no text.
const FILE_EXTENSIONS = ['log', 'index', 'timeindex', 'txnindex'] as const;
const COLUMNS = [
  'path',
  'topic',
  'partition',
  'base_offset',
  ...FILE_EXTENSIONS.flatMap((e) => [`${e}_size`, `${e}_crc32c`, `${e}_sha256`]),
  'last_modified',
  'last_access_at',
  'policy',
  'is_archived',
  'object_key',
  'archived_at',
  'state',
  'version',
].join(', ');
const PLACEHOLDERS = COLUMNS.split(', ').map(() => '?').join(', ');
const UPDATES = COLUMNS.split(', ')
  .filter((column) => column !== 'path')
  .map((column) => `${column} = excluded.${column}`)
  .join(', ');

type Row = (string | number | null)[];

/** The open file and the statements prepared on it. */
interface Connection {
  readonly db: DatabaseSync;
  readonly get: StatementSync;
  readonly version: StatementSync;
  readonly upsert: StatementSync;
  readonly delete: StatementSync;
}

/**
 * The embedded default: one SQLite file (node:sqlite) under the data dir. WAL journal with
 * `synchronous = FULL`, so a commit that resolved survives a crash or power cut; the schema
 * carries a version and migrates forward. The file is opened (and migrated) at the first call,
 * not at construction: a container builds the store before `openTieredStorage` has locked the
 * data dir, and a process that finds the dir locked must not have touched the file.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly description: string;
  #connection: Connection | undefined;
  #closed = false;

  constructor(readonly path: string) {
    this.description = `sqlite ${path}`;
  }

  async *records(filter: RecordFilter = {}): AsyncIterable<readonly SegmentRecord[]> {
    const { db } = this.#open();
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
    const statement = db.prepare(`SELECT ${COLUMNS} FROM segments${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`);
    statement.setReturnArrays(true);
    yield* inPages(
      (function* () {
        for (const row of statement.iterate(...params)) yield fromRow(row as unknown as Row);
      })(),
    );
  }

  async get(path: string): Promise<SegmentRecord | undefined> {
    const row = this.#open().get.get(path) as unknown as Row | undefined;
    return row && fromRow(row);
  }

  async commit(writes: readonly MetadataWrite[]): Promise<void> {
    const connection = this.#open();
    if (writes.length === 0) return;
    connection.db.exec('BEGIN IMMEDIATE');
    try {
      for (const write of writes) {
        const path = 'put' in write ? write.put.path : write.delete;
        const stored = connection.version.get(path) as { version: number } | undefined;
        const conflict = versionConflict(write, stored?.version);
        if (conflict) throw conflict;
        if ('put' in write) connection.upsert.run(...toRow(write.put));
        else connection.delete.run(path);
      }
      connection.db.exec('COMMIT');
    } catch (error) {
      connection.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection?.db.close();
  }

  #open(): Connection {
    if (this.#closed) throw new TieringError('CLOSED', `the metadata store ${this.path} is closed`);
    if (this.#connection) return this.#connection;
    let db: DatabaseSync | undefined;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new DatabaseSync(this.path);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      migrate(db, this.path);
    } catch (error) {
      db?.close();
      if (error instanceof TieringError) throw error;
      throw new TieringError('METADATA_FAILURE', `cannot open the metadata file ${this.path}: ${(error as Error).message}`, undefined, { cause: error });
    }
    const get = db.prepare(`SELECT ${COLUMNS} FROM segments WHERE path = ?`);
    get.setReturnArrays(true);
    this.#connection = {
      db,
      get,
      version: db.prepare('SELECT version FROM segments WHERE path = ?'),
      upsert: db.prepare(`INSERT INTO segments (${COLUMNS}) VALUES (${PLACEHOLDERS}) ON CONFLICT (path) DO UPDATE SET ${UPDATES}`),
      delete: db.prepare('DELETE FROM segments WHERE path = ?'),
    };
    return this.#connection;
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

function toRow(r: SegmentRecord): Row {
  const files = r.files as Record<string, { size: number; checksums?: { crc32c: string; sha256: string } } | undefined>;
  return [
    r.path,
    r.topic,
    r.partition,
    r.baseOffset,
    ...FILE_EXTENSIONS.flatMap((extension) => {
      const file = files[extension];
      return [file?.size ?? null, file?.checksums?.crc32c ?? null, file?.checksums?.sha256 ?? null];
    }),
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
  const files: Record<string, SegmentFile> = {};
  for (let i = 0; i < FILE_EXTENSIONS.length; i++) {
    const size = row[4 + i * 3] as number | null;
    if (size === null) continue;
    const crc32c = row[5 + i * 3] as string | null;
    files[FILE_EXTENSIONS[i]!] = crc32c === null ? { size } : { size, checksums: { crc32c, sha256: row[6 + i * 3] as string } };
  }
  const log = files.log!;
  const record: { -readonly [K in keyof SegmentRecord]: SegmentRecord[K] } = {
    path: row[0] as string,
    topic: row[1] as string,
    partition: row[2] as number,
    baseOffset: row[3] as number,
    size: log.size,
    files: files as unknown as SegmentFiles,
    lastModified: row[16] as number,
    lastAccessAt: row[17] as number,
    policy: row[18] as Tier,
    isArchived: row[19] === 1,
    state: row[22] as SegmentState,
    version: row[23] as number,
  };
  if (row[20] !== null) record.objectKey = row[20] as string;
  if (log.checksums) record.checksums = log.checksums;
  if (row[21] !== null) record.archivedAt = row[21] as number;
  return record;
}
