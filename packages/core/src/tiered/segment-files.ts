import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { segmentFileName } from '../segments/segment-path.js';
import { SEGMENT_FILE_EXTENSIONS, type SegmentFileExtension } from '../kafka/segment-file-name.js';
import { syncDirectory } from '../transfer/sync-directory.js';

/** A segment file on local disk. */
export interface LocalFile {
  readonly extension: SegmentFileExtension;
  readonly path: string;
  readonly size: number;
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

/** The segment's files present on local disk, `.log` last. */
export async function localFilesOf(dataDir: string, segment: Pick<SegmentRecord, 'path' | 'baseOffset'>): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const extension of [...SEGMENT_FILE_EXTENSIONS.filter((e) => e !== 'log'), 'log'] as const) {
    const path = localPathOf(dataDir, segment, extension);
    const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (stats?.isFile()) files.push({ extension, path, size: stats.size });
  }
  return files;
}

/**
 * Deletes the segment's local files, `.log` last, then fsyncs the folder. A crash in between
 * leaves the `.log`, which is what reconciliation looks for; `onDeleted` runs after each file.
 */
export async function deleteLocalFiles(dataDir: string, segment: Pick<SegmentRecord, 'path' | 'baseOffset'>, onDeleted?: () => Promise<void> | void): Promise<void> {
  for (const extension of [...SEGMENT_FILE_EXTENSIONS.filter((e) => e !== 'log'), 'log'] as const) {
    const deleted = await unlink(localPathOf(dataDir, segment, extension)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (deleted) await onDeleted?.();
  }
  await syncDirectory(partitionDirOf(dataDir, segment)).catch(() => {});
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
