import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { TieringError } from '../errors/tiering-error.js';

// The SQLite metadata file's writes (docs/ARCHITECTURE.md, "Metadata"): one transaction helper,
// the checks made at open (writable, bound to its data dir), and how a refused write reads.

/** SQLite's primary result codes that mean the file cannot be written by this process. */
const SQLITE_PERM = 3;
const SQLITE_READONLY = 8;
/** ... and the ones that mean its content is damaged (a bad disk, a file cut short or written over). */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * Writes (and rolls back) the schema version: a file this process may only read (its owner, its
 * mode, a read-only mount) opens and reads fine, and without this every commit would fail later.
 * `BEGIN IMMEDIATE` alone is not enough: SQLite grants it on a read-only file.
 */
export function checkWritable(db: DatabaseSync): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`PRAGMA user_version = ${version}`);
  } finally {
    if (db.isTransaction) db.exec('ROLLBACK');
  }
}

/**
 * Binds the file to `dataDir`'s real path at its first open (or the first since binding came in),
 * and refuses any other data dir after: its records say which segments of that dir are archived,
 * and another dir with the same topics would take them for its own and overwrite them. One case
 * is let through: the file lies in `dataDir` and the bound dir is gone, i.e. the dir was moved
 * with its file in it; the binding then follows.
 */
export function bindToDataDir(db: DatabaseSync, path: string, dataDir: string): void {
  const current = realPathOf(dataDir);
  inTransaction(db, () => {
    const bound = (db.prepare("SELECT value FROM properties WHERE name = 'data_dir'").get() as { value: string } | undefined)?.value;
    if (bound === current) return;
    const moved = bound !== undefined && realPathOf(dirname(path)) === current && !existsSync(bound);
    if (bound !== undefined && !moved) {
      throw new TieringError(
        'METADATA_FAILURE',
        `the metadata file ${path} belongs to the data dir ${bound}, not ${current}: data dirs sharing one file overwrite each other's records. ` +
          `Give ${current} its own file (storage.tiered.metadata.path, by default <data dir>/.takhin-tiered.db). ` +
          `If ${current} is ${bound} moved on purpose: with the file inside it and ${bound} removed or renamed, the binding follows; ` +
          `or move the file (with its -wal and -shm) aside and run \`takhin-tiered rebuild\` to recreate the archived segments' records from the cold store`,
      );
    }
    db.prepare("INSERT INTO properties (name, value) VALUES ('data_dir', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(current);
  });
}

/** The path with symlinks resolved, so one dir under two names is one dir; as given if absent. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Runs `work` in a write transaction: all of it is committed, or none. */
export function inTransaction(db: DatabaseSync, work: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    work();
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** Whether `error` is SQLite refusing to write: a read-only file, folder or mount, or no permission. */
export function isReadOnly(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === 'number' && ((code & 0xff) === SQLITE_READONLY || (code & 0xff) === SQLITE_PERM);
}

/** What to do about a damaged file, when `error` says the file is damaged; otherwise nothing. */
export function damagedHint(error: unknown): string {
  const code = (error as { errcode?: unknown }).errcode;
  if (typeof code !== 'number' || ((code & 0xff) !== SQLITE_CORRUPT && (code & 0xff) !== SQLITE_NOTADB)) return '';
  return ". The file is damaged: move it (with its -wal and -shm) aside and run `takhin-tiered rebuild` to recreate the archived segments' records from the cold store";
}

/** A read SQLite failed (a damaged file, an I/O error), as `METADATA_FAILURE` naming the file. */
export function readFailure(path: string, error: unknown): TieringError {
  return new TieringError('METADATA_FAILURE', `cannot read the metadata file ${path}: ${(error as Error).message}${damagedHint(error)}`, undefined, { cause: error });
}

/** A write SQLite refused, as `METADATA_FAILURE` naming the file; a read-only one says what must be writable. */
export function writeFailure(path: string, error: unknown): TieringError {
  const reason = (error as Error).message;
  if (isReadOnly(error)) {
    return new TieringError(
      'METADATA_FAILURE',
      `the metadata file ${path} cannot be written (${reason}): this process must be able to write it, its -wal and -shm files and its folder`,
      undefined,
      { cause: error },
    );
  }
  return new TieringError('METADATA_FAILURE', `cannot write the metadata file ${path}: ${reason}${damagedHint(error)}`, undefined, { cause: error });
}
