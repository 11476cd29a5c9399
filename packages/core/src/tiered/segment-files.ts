import type { Stats } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TieringError } from '../errors/tiering-error.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { segmentFileName } from '../segments/segment-path.js';
import { SEGMENT_FILE_EXTENSIONS, type SegmentFileExtension } from '../kafka/segment-file-name.js';
import { syncDirectory } from '../transfer/sync-directory.js';
import type { Checksums } from '../contracts/cold-store.js';
import type { TransferPool } from '../transfer/transfer-pool.js';
import { describeFileDifference, manifestFiles, type SegmentManifest } from './segment-manifest.js';

/** A segment file on local disk. */
export interface LocalFile {
  readonly extension: SegmentFileExtension;
  readonly path: string;
  readonly size: number;
  /** With `ino` and `size`, what tells a file changed since it was last looked at. */
  readonly mtimeMs: number;
  readonly ino: number;
}

/** Suffix of a file being restored, beside its final name: hidden, and never a segment name. */
export const RESTORE_SUFFIX = '.takhin-restore';

/** The partition folder of a segment, and the absolute path of one of its files. */
export function partitionDirOf(dataDir: string, segment: Pick<SegmentRecord, 'path'>): string {
  return join(dataDir, segment.path.slice(0, segment.path.indexOf('/')));
}

export function localPathOf(dataDir: string, segment: Pick<SegmentRecord, 'path' | 'baseOffset'>, extension: SegmentFileExtension): string {
  return join(partitionDirOf(dataDir, segment), segmentFileName(segment.baseOffset, extension));
}

/** Where a file of the segment is written while being restored. */
export function restoreTempPathOf(dataDir: string, segment: Pick<SegmentRecord, 'path' | 'baseOffset'>, extension: SegmentFileExtension): string {
  return join(partitionDirOf(dataDir, segment), `.${segmentFileName(segment.baseOffset, extension)}${RESTORE_SUFFIX}`);
}

/**
 * A segment file name taken by something other than a regular file (a symbolic link, a FIFO, a
 * folder). Such a segment is neither archived nor deleted: its bytes may live elsewhere, and an
 * upload would skip the file while the deletes that follow took its name.
 */
export class IrregularSegmentFileError extends TieringError {
  constructor(segment: Pick<SegmentRecord, 'path'>, extension: SegmentFileExtension, path: string, stats: Stats) {
    super('NOT_ALLOWED', `${segment.path}: its .${extension} (${path}) is ${kindOf(stats)}, not a regular file; the segment is left as it is, neither archived nor deleted`, segment.path);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'a device';
}

/** lstat of `path`, or `undefined` when nothing is there. */
export const lstatIfPresent = (path: string) =>
  lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });

/**
 * The segment's files present on local disk, `.log` last. Fails with
 * `IrregularSegmentFileError` when a segment file's name holds anything but a regular file.
 */
export async function localFilesOf(dataDir: string, segment: Pick<SegmentRecord, 'path' | 'baseOffset'>): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const extension of [...SEGMENT_FILE_EXTENSIONS.filter((e) => e !== 'log'), 'log'] as const) {
    const path = localPathOf(dataDir, segment, extension);
    const stats = await lstatIfPresent(path);
    if (stats === undefined) continue;
    if (!stats.isFile()) throw new IrregularSegmentFileError(segment, extension, path, stats);
    files.push({ extension, path, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino });
  }
  return files;
}

/**
 * Deletes the local files of the segment that its manifest lists, `.log` last, then fsyncs the
 * folder: only what has a verified remote copy, and only regular files (anything else under a
 * segment file's name is left, for reconciliation to report). A crash in between leaves the
 * `.log`, which is what reconciliation looks for; `onDeleted` runs after each file. A file that
 * cannot be deleted (a read-only folder) is `LOCAL_FAILURE` naming it and the segment.
 */
export async function deleteLocalFiles(
  dataDir: string,
  segment: Pick<SegmentRecord, 'path' | 'baseOffset'>,
  manifest: Pick<SegmentManifest, 'files'>,
  onDeleted?: () => Promise<void> | void,
): Promise<void> {
  for (const [extension] of manifestFiles(manifest)) {
    const path = localPathOf(dataDir, segment, extension);
    if (!(await lstatIfPresent(path))?.isFile()) continue;
    const deleted = await unlink(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw new TieringError(
          'LOCAL_FAILURE',
          `${segment.path} has a verified copy in the cold store, but its local file ${path} cannot be deleted (${error.message}); it stays, and each refresh tries again`,
          segment.path,
          { cause: error },
        );
      },
    );
    if (deleted) await onDeleted?.();
  }
  await syncDirectory(partitionDirOf(dataDir, segment)).catch(() => {});
}

/**
 * What differs between the local files and the manifest, or undefined: sizes first, then both
 * checksums through the pool. `partial`: only the files present locally are compared, for a
 * deletion that stopped half-way (the `.log` goes last, so what is left is a subset); a file the
 * manifest does not list is a difference either way.
 */
export async function describeLocalDifference(
  pool: TransferPool,
  manifest: Pick<SegmentManifest, 'files'>,
  local: readonly LocalFile[],
  options: { partial?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<string | undefined> {
  const expected = options.partial ? Object.fromEntries(local.map((file) => [file.extension, manifest.files[file.extension]])) : manifest.files;
  const sizes = Object.fromEntries(local.map((file) => [file.extension, { size: file.size }]));
  const bySize = describeFileDifference(expected, sizes);
  if (bySize !== undefined) return bySize;
  const sums: Partial<Record<SegmentFileExtension, { size: number } & Checksums>> = {};
  for (const file of local) sums[file.extension] = await pool.checksumFile(file.path, { signal: options.signal });
  return describeFileDifference(expected, sums);
}

// `.<segment file>.takhin-restore` (a restore's temp name) and the pool's download temp beside
// it, `.<that name>.<12 hex>.part`.
const TEMP_FILE = /^\.+([0-9]{20})\.(?:log|index|timeindex|txnindex)(?:\.takhin-restore)?(?:\.[0-9a-f]{12}\.part)?$/;

/** Leftovers of interrupted restores and downloads in a partition folder (ours, hidden). */
export async function strayTempFiles(partitionDir: string, baseOffset?: number): Promise<string[]> {
  const names = await readdir(partitionDir).catch(() => [] as string[]);
  return names
    .filter((name) => {
      const match = TEMP_FILE.exec(name);
      if (!match || !(name.endsWith(RESTORE_SUFFIX) || name.endsWith('.part'))) return false;
      return baseOffset === undefined || Number(match[1]) === baseOffset;
    })
    .map((name) => join(partitionDir, name));
}
