import type { Checksums } from '../contracts/cold-store.js';
import type { SegmentFile, SegmentFiles, SegmentRecord } from '../metadata/segment-record.js';
import { objectKeyOf, type ManifestFile, type SegmentManifest } from './segment-manifest.js';

/** The record's `files` from a manifest: every file's size, and the `.log`'s checksums. */
export function recordFiles(manifest: Pick<SegmentManifest, 'files'>): SegmentFiles {
  const files: Record<string, { size: number; checksums?: Checksums }> = {};
  for (const [extension, file] of Object.entries(manifest.files)) {
    if (file) files[extension] = extension === 'log' ? { size: file.size, checksums: checksumsOf(file) } : { size: file.size };
  }
  return files as unknown as SegmentFiles;
}

export function checksumsOf(file: ManifestFile): Checksums {
  return { crc32c: file.crc32c, sha256: file.sha256 };
}

/** The record fields of a committed archive (COLD, archived, idle), from its manifest. */
export function archivedFields(manifest: SegmentManifest): Partial<SegmentRecord> {
  return {
    policy: 'cold',
    isArchived: true,
    objectKey: objectKeyOf(manifest.segment),
    files: recordFiles(manifest),
    checksums: checksumsOf(manifest.files.log),
    archivedAt: Date.parse(manifest.archivedAt),
    state: 'idle',
    ...(manifest.topicId !== undefined ? { topicId: manifest.topicId } : {}),
  };
}

/** A record's files as `{ extension: { size, crc32c, sha256 } }`, the shape comparisons take. */
export function flatFiles(segment: Pick<SegmentRecord, 'files'>): Record<string, { size: number; crc32c?: string; sha256?: string }> {
  return Object.fromEntries(Object.entries(segment.files).map(([extension, file]) => [extension, { size: file!.size, ...(file as SegmentFile).checksums }]));
}
