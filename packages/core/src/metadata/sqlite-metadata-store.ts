import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { TieringError } from '../errors/tiering-error.js';
import { fsyncPathSync, syncDirectorySync } from '../transfer/sync-directory.js';
import { bindToDataDir, checkWritable, damagedHint, inTransaction, isReadOnly, readFailure, writeFailure } from './sqlite-file.js';
import { versionConflict } from './metadata-conflict.js';
import type { MetadataStore, MetadataWrite, RecordFilter } from './metadata-store.js';
import { RECORD_PAGE_SIZE } from './record-pages.js';
import { readPagesOnAnotherThread } from './record-reader.js';
import { COLUMNS, STATE_CODES, SharedStrings, TIER_CODES, packRows, recordsOf, type PackedRows, type Row } from './record-rows.js';
import type { SegmentRecord } from './segment-record.js';

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
     log_size       INTEGER NOT NULL,
     log_crc32c     TEXT,
     log_sha256     TEXT,
     index_size     INTEGER,
     timeindex_size INTEGER,
     txnindex_size  INTEGER,
     last_modified  INTEGER NOT NULL,
     last_access_at INTEGER NOT NULL,
     policy         INTEGER NOT NULL CHECK (policy IN (0, 1, 2)),
     is_archived    INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
     archived_at    INTEGER,
     state          INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
     version        INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX segments_by_partition ON segments (topic, partition, base_offset);`,
  // What the file belongs to: `data_dir`, the real path of the data dir its records describe.
  `CREATE TABLE properties (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // The topic id of the partition the segment was found in (SegmentRecord.topicId).
  `ALTER TABLE segments ADD COLUMN topic_id TEXT;`,
];

const SELECTED = COLUMNS.join(', ');
const WRITTEN = ['topic', ...COLUMNS];
const UPSERT = `INSERT INTO segments (${WRITTEN.join(', ')}) VALUES (${WRITTEN.map(() => '?').join(', ')})
  ON CONFLICT (path) DO UPDATE SET ${WRITTEN.filter((c) => c !== 'path').map((c) => `${c} = excluded.${c}`).join(', ')}`;

export interface SqliteMetadataStoreOptions {
  /**
   * The data dir whose records the file holds. Given, the file is bound to its real path at the
   * first open, and a later open for any other data dir is refused: two data dirs sharing one
   * file would each take the other's records for their own. Omitted, nothing is checked.
   */
  readonly dataDir?: string;
}

/** The open file and the statements prepared on it. */
interface Connection {
  readonly db: DatabaseSync;
  readonly get: StatementSync;
  readonly version: StatementSync;
  readonly upsert: StatementSync;
  readonly delete: StatementSync;
}

/**
 * The embedded default: one SQLite file (node:sqlite) under the data dir, WAL journal; the
 * schema carries a version and migrates forward. The file is opened (and migrated) at the first
 * call, not at construction: a container builds the store before `openTieredStorage` has locked
 * the data dir, and a process that finds the dir locked must not have touched the file. At that
 * open it must be writable, and (given `dataDir`) bound to that data dir and no other.
 *
 * A commit that resolved survives a crash or power cut, but the fsync that vouches for it does
 * not run on the calling thread (docs/ARCHITECTURE.md, "Metadata"): the transaction is written
 * with `synchronous = NORMAL` (into the WAL, no sync), then the WAL is fsynced on libuv's
 * threadpool. `node:sqlite` is synchronous, and with `synchronous = FULL` every commit held the
 * broker's event loop for its fsync (5.4 ms each here, 128 of them to archive and restore 64
 * segments). Commits made while one fsync runs share the next one.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly description: string;
  #connection: Connection | undefined;
  #closed = false;
  readonly #shared = new SharedStrings();
  /** The WAL, open from the first call on, for the fsyncs that make commits durable. */
  #wal: number | undefined;
  /** The fsync in flight, and the one queued behind it for commits made meanwhile. */
  #syncing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /**
   * Set when an fsync of the WAL failed: what was committed may or may not be on disk, and the
   * records in memory may not match, so every later commit is refused until the file is
   * reopened (a restart), as databases treat a failed fsync.
   */
  #unsynced: TieringError | undefined;

  constructor(
    readonly path: string,
    readonly options: SqliteMetadataStoreOptions = {},
  ) {
    this.description = `sqlite ${path}`;
  }

  async *records(filter: RecordFilter = {}): AsyncIterable<readonly SegmentRecord[]> {
    const { db } = this.#open();
    const where: string[] = ['path > ?'];
    const params: (string | number)[] = [];
    if (filter.topic !== undefined) {
      where.push('topic = ?');
      params.push(filter.topic);
    }
    if (filter.partition !== undefined) {
      where.push('partition = ?');
      params.push(filter.partition);
    }
    // A page at a time in key order (the table is clustered on path): no cursor stays open
    // between pages, and each page is one native call rather than one per row.
    const sql = `SELECT ${SELECTED} FROM segments WHERE ${where.join(' AND ')} ORDER BY path LIMIT ${RECORD_PAGE_SIZE}`;
    let rows: Row[];
    try {
      const page = db.prepare(sql);
      page.setReturnArrays(true);
      rows = page.all('', ...params) as unknown as Row[];
    } catch (error) {
      throw readFailure(this.path, error);
    }
    if (rows.length > 0) yield recordsOf(packRows(rows), this.#shared);
    if (rows.length < RECORD_PAGE_SIZE) return;
    // More than a page: the rest is read on another thread while this one builds the records
    // (docs/ARCHITECTURE.md, "Metadata").
    const pages = readPagesOnAnotherThread(this.path, sql, params, rows[rows.length - 1]![0] as string, RECORD_PAGE_SIZE);
    try {
      for (;;) {
        let next: IteratorResult<PackedRows>;
        try {
          next = await pages.next();
        } catch (error) {
          throw readFailure(this.path, error);
        }
        if (next.done) return;
        if (next.value.count > 0) yield recordsOf(next.value, this.#shared);
      }
    } finally {
      // A caller that stops early stops the thread too.
      await pages.return(undefined);
    }
  }

  async get(path: string): Promise<SegmentRecord | undefined> {
    const { get } = this.#open();
    let row: Row | undefined;
    try {
      row = get.get(path) as unknown as Row | undefined;
    } catch (error) {
      throw readFailure(this.path, error);
    }
    return row && recordsOf(packRows([row]), this.#shared)[0];
  }

  async commit(writes: readonly MetadataWrite[]): Promise<void> {
    const connection = this.#open();
    if (this.#unsynced) throw this.#unsynced;
    if (writes.length === 0) return;
    try {
      inTransaction(connection.db, () => {
        for (const write of writes) {
          const path = 'put' in write ? write.put.path : write.delete;
          const stored = connection.version.get(path) as { version: number } | undefined;
          const conflict = versionConflict(write, stored?.version);
          if (conflict) throw conflict;
          if ('put' in write) connection.upsert.run(...toRow(write.put));
          else connection.delete.run(path);
        }
      });
    } catch (error) {
      if (error instanceof TieringError) throw error;
      throw writeFailure(this.path, error);
    }
    await this.#durable();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (this.#queued ?? this.#syncing)?.catch(() => {});
    if (this.#wal !== undefined) closeSync(this.#wal);
    this.#connection?.db.close();
  }

  /**
   * Resolves once every commit made before the call is on disk. An fsync already running may
   * have started before that commit was written, so the caller waits for the next one, which
   * covers every commit made until it starts: one fsync in flight and one queued, whatever the
   * number of callers.
   */
  #durable(): Promise<void> {
    if (this.#syncing === undefined) {
      const syncing = this.#syncWal().finally(() => {
        if (this.#syncing === syncing) this.#syncing = undefined;
      });
      this.#syncing = syncing;
      return syncing;
    }
    this.#queued ??= this.#syncing
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        return this.#durable();
      });
    return this.#queued;
  }

  #syncWal(): Promise<void> {
    const wal = this.#wal!; // set by #open, which every commit has been through
    return new Promise<void>((resolve, reject) =>
      fsync(wal, (error) => {
        if (!error) return resolve();
        this.#unsynced ??= new TieringError('METADATA_FAILURE', `cannot make the metadata file ${this.path} durable (fsync of its WAL failed: ${error.message}); no more commits until it is reopened`, undefined, { cause: error });
        reject(this.#unsynced);
      }),
    );
  }

  #open(): Connection {
    if (this.#closed) throw new TieringError('CLOSED', `the metadata store ${this.path} is closed`);
    if (this.#connection) return this.#connection;
    let db: DatabaseSync | undefined;
    let wal: number | undefined;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new DatabaseSync(this.path);
      // NORMAL: commits reach the WAL without an fsync; commit() then fsyncs it off this thread.
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
      migrate(db, this.path);
      checkWritable(db);
      if (this.options.dataDir !== undefined) bindToDataDir(db, this.path, this.options.dataDir);
      // The WAL exists once the WAL mode is set. It, any migration in it, and the folder entries
      // of both files are put on disk here, before the first commit counts on them.
      wal = openSync(`${this.path}-wal`, 'r');
      fsyncSync(wal);
      fsyncPathSync(this.path);
      syncDirectorySync(dirname(this.path));
    } catch (error) {
      if (wal !== undefined) closeSync(wal);
      db?.close();
      if (error instanceof TieringError) throw error;
      if (isReadOnly(error)) throw writeFailure(this.path, error);
      throw new TieringError('METADATA_FAILURE', `cannot open the metadata file ${this.path}: ${(error as Error).message}${damagedHint(error)}`, undefined, { cause: error });
    }
    this.#wal = wal;
    const get = db.prepare(`SELECT ${SELECTED} FROM segments WHERE path = ?`);
    get.setReturnArrays(true);
    this.#connection = {
      db,
      get,
      version: db.prepare('SELECT version FROM segments WHERE path = ?'),
      upsert: db.prepare(UPSERT),
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
    inTransaction(db, () => {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}

/** The values `UPSERT` writes: the topic, then `COLUMNS` in order. */
function toRow(r: SegmentRecord): Row {
  const { log, index, timeindex, txnindex } = r.files;
  return [
    r.topic,
    r.path,
    log.checksums?.crc32c ?? null,
    log.checksums?.sha256 ?? null,
    r.topicId ?? null,
    r.partition,
    r.baseOffset,
    log.size,
    index?.size ?? null,
    timeindex?.size ?? null,
    txnindex?.size ?? null,
    r.lastModified,
    r.lastAccessAt,
    TIER_CODES.indexOf(r.policy),
    r.isArchived ? 1 : 0,
    r.archivedAt ?? null,
    STATE_CODES.indexOf(r.state),
    r.version,
  ];
}
