import { mkdir, rename, unlink, utimes } from 'node:fs/promises';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { allOrFirstFailure, throwIfAborted } from '../errors/signals.js';
import { TieringError } from '../errors/tiering-error.js';
import { localBytesOf, type SegmentRecord } from '../metadata/segment-record.js';
import { syncDirectory } from '../transfer/sync-directory.js';
import { fileProgress } from './archive-protocol.js';
import { flatFiles, recordFiles } from './archived-record.js';
import { requireTopicNotDeleted } from './deleted-topics.js';
import { describeRunningBroker, runningBroker } from './running-broker.js';
import { requireManifest } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import { verifyRemoteFiles } from './remote-verification.js';
import { describeFileDifference, manifestFiles } from './segment-manifest.js';
import { deleteLocalFiles, describeLocalDifference, localFilesOf, localPathOf, lstatIfPresent, partitionDirOf, restoreTempPathOf } from './segment-files.js';

export interface RestoreResult {
  readonly segment: SegmentRecord;
  /** `already-local`: its files were on local disk; nothing moved. */
  readonly outcome: 'restored' | 'already-local';
  readonly downloadedBytes: number;
  readonly durationMs: number;
}

export interface EvictResult {
  readonly segment: SegmentRecord;
  /** `already-cold`: its local files were gone already; nothing was deleted. */
  readonly outcome: 'evicted' | 'already-cold';
  /** Local bytes this call deleted. */
  readonly freedBytes: number;
}

/**
 * Restore: every file downloads through the pool to a temp name beside its destination, is
 * verified against the manifest's checksums, and only when all are verified are they renamed
 * into place (`.log` last) and the folder fsynced; then `hot` with `lastAccessAt = now` is
 * committed. A failure leaves no partial file and the record cold. The remote copy stays, so
 * evicting the segment again uploads nothing.
 */
export class RestoreProtocol {
  constructor(private readonly context: ProtocolContext) {}

  async restore(segment: SegmentRecord, options: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {}): Promise<RestoreResult> {
    const { signal } = options;
    const progress = fileProgress(options.onProgress);
    const started = performance.now();
    if (segment.policy !== 'cold') {
      // Anything under the .log's name (a regular file or not) counts as on local disk.
      if ((await lstatIfPresent(localPathOf(this.context.dataDir, segment, 'log'))) !== undefined) return { segment, outcome: 'already-local', downloadedBytes: 0, durationMs: 0 };
      // Its files went without a refresh seeing it: the broker's retention deleted them. Restoring
      // would put back what the broker deleted; the next refresh records it cold (if archived) or gone.
      throw new TieringError(
        'UNKNOWN_SEGMENT',
        `cannot restore ${segment.path}: it is recorded on local disk, but its .log is gone from local disk (the broker deleted it since the last refresh); the next refresh records it ${segment.isArchived ? 'cold, to be restored from its archive' : 'as gone'}`,
        segment.path,
      );
    }
    if (!segment.isArchived) throw new TieringError('REMOTE_MISSING', `${segment.path} is cold but not archived: the metadata has no copy to restore`, segment.path);
    const { catalog, observer, dataDir, pool, target, store } = this.context;
    await requireTopicNotDeleted(dataDir, segment, 'restore');
    await this.#requireNoOtherLocalFiles(segment, signal);
    await catalog.update(segment.path, { state: 'restoring' });
    await observer.reached('restore:intent-recorded', segment.path);

    const temps: string[] = [];
    const renamed: string[] = [];
    try {
      const manifest = await requireManifest(store, segment.path, signal);
      const difference = describeFileDifference(flatFiles(segment), flatFiles({ files: recordFiles(manifest) }));
      if (difference !== undefined) {
        throw new TieringError('REMOTE_CORRUPT', `the manifest of ${segment.path} in the cold store disagrees with the metadata: ${difference}`, segment.path);
      }
      await mkdir(partitionDirOf(dataDir, segment), { recursive: true });
      // Every file at once: a consumer waiting on this restore waits for the longest, not the sum.
      const files = manifestFiles(manifest);
      for (const [extension] of files) temps.push(restoreTempPathOf(dataDir, segment, extension));
      await allOrFirstFailure(signal, (shared) =>
        files.map(async ([extension, file], index) => {
          await pool.downloadFile(file.key, temps[index]!, target, { expected: { crc32c: file.crc32c, sha256: file.sha256 }, size: file.size, signal: shared, onProgress: progress?.(extension), syncDirectory: false }).catch((error: unknown) => {
            throw asRemoteFailure(error, segment.path, extension, file.key, store.backend);
          });
          await observer.reached('restore:file-downloaded', segment.path);
        }),
      );
      // An abort that came after the last download still stops the restore before anything is renamed into place.
      throwIfAborted(signal, store.backend);
      const downloadedBytes = files.reduce((sum, [, file]) => sum + file.size, 0);
      const mtime = new Date(manifest.lastModified);
      for (const [index, [extension]] of files.entries()) {
        const temp = temps[index]!;
        await utimes(temp, mtime, mtime);
        const final = localPathOf(dataDir, segment, extension);
        await rename(temp, final);
        renamed.push(final);
        await observer.reached('restore:file-renamed', segment.path);
      }
      await syncDirectory(partitionDirOf(dataDir, segment));
      const now = this.context.clock.now();
      const restored = await catalog.update(segment.path, { policy: 'hot', lastAccessAt: now, files: recordFiles(manifest), state: 'idle' });
      await observer.reached('restore:committed', segment.path);
      const durationMs = performance.now() - started;
      this.context.events.emit('segment:tier-changed', restored, 'cold', 'hot');
      this.context.events.emit('segment:restored', restored, { bytes: downloadedBytes, durationMs });
      return { segment: restored, outcome: 'restored', downloadedBytes, durationMs };
    } catch (error) {
      await Promise.all([...temps, ...renamed].map((path) => unlink(path).catch(() => {})));
      await catalog.update(segment.path, { state: 'idle' }).catch(() => {});
      throw error;
    }
  }

  /**
   * Files already under a cold segment's names must be its archive's bytes (an evict that stopped
   * before its deletes), or the renames would replace them: a segment of a topic created again
   * without ids, one Kafka's log cleaner rewrote, which reconciliation reports and keeps.
   */
  async #requireNoOtherLocalFiles(segment: SegmentRecord, signal?: AbortSignal): Promise<void> {
    const { dataDir, pool, store } = this.context;
    const present = await localFilesOf(dataDir, segment);
    if (present.length === 0) return;
    const difference = await describeLocalDifference(pool, await requireManifest(store, segment.path, signal), present, { partial: true, signal });
    if (difference === undefined) return;
    throw new TieringError('NOT_ALLOWED', `cannot restore ${segment.path}: other files are on local disk under its name (${difference}); restoring would replace them, so they are kept and the segment stays cold`, segment.path);
  }

  /**
   * Evict: the local copy of a restored segment goes, after the manifest and every remote
   * object are re-checked and the local files are hashed and found to be the manifest's (a
   * follower may have truncated or rewritten them since the restore); nothing is uploaded.
   * `cold` is committed before the local delete, so a crash in between leaves files that
   * reconciliation deletes.
   */
  async evict(segment: SegmentRecord, signal?: AbortSignal): Promise<EvictResult> {
    if (segment.policy === 'cold') return { segment, outcome: 'already-cold', freedBytes: 0 };
    const { catalog, observer, dataDir, store, pool, settings } = this.context;
    if (!settings.enabled) {
      throw new TieringError('TIERING_DISABLED', `cannot evict ${segment.path}: tiered storage is disabled (storage.tiered.enabled: false), so nothing moves`, segment.path);
    }
    if (!segment.isArchived) {
      throw new TieringError('NOT_ALLOWED', `cannot evict ${segment.path}: it is not archived, so its local files are its only copy; archive it instead`, segment.path);
    }
    const broker = await runningBroker(dataDir);
    if (broker) throw new TieringError('NOT_ALLOWED', `cannot evict ${segment.path}: ${describeRunningBroker(dataDir, broker)}`, segment.path);
    const manifest = await requireManifest(store, segment.path, signal);
    const difference = describeFileDifference(flatFiles(segment), flatFiles({ files: recordFiles(manifest) }));
    if (difference !== undefined) {
      throw new TieringError('REMOTE_CORRUPT', `cannot evict ${segment.path}: its manifest disagrees with the metadata (${difference}); the local copy is kept`, segment.path);
    }
    const localDifference = await describeLocalDifference(pool, manifest, await localFilesOf(dataDir, segment), { partial: true, signal });
    if (localDifference !== undefined) {
      throw new TieringError('NOT_ALLOWED', `cannot evict ${segment.path}: its local files are no longer what was archived (${localDifference}); they are kept`, segment.path);
    }
    await verifyRemoteFiles(store, segment.path, manifest.files, signal);
    await observer.reached('evict:verified', segment.path);
    const evicted = await catalog.update(segment.path, { policy: 'cold', state: 'idle' });
    await observer.reached('evict:committed', segment.path);
    await deleteLocalFiles(dataDir, segment, manifest, () => observer.reached('evict:local-file-deleted', segment.path));
    this.context.events.emit('segment:tier-changed', evicted, segment.policy, 'cold');
    this.context.events.emit('segment:evicted', evicted);
    return { segment: evicted, outcome: 'evicted', freedBytes: localBytesOf(segment) };
  }
}

/** A download failure in the words of the restore: which file of which segment, and why. */
function asRemoteFailure(error: unknown, segmentPath: string, extension: string, key: string, backend: string): unknown {
  // A failure of the local file being written is the disk's, not the store's (`ofSegment` names it).
  if (!(error instanceof ColdStoreError) || error.localPath !== undefined) return error;
  if (error.code === 'NOT_FOUND') {
    return new TieringError('REMOTE_MISSING', `cannot restore ${segmentPath}: its .${extension} is missing from the ${backend} cold store (key ${key})`, segmentPath, { cause: error });
  }
  if (error.code === 'CHECKSUM_MISMATCH') {
    return new TieringError('REMOTE_CORRUPT', `cannot restore ${segmentPath}: its .${extension} in the ${backend} cold store (key ${key}) is corrupt: ${error.message}`, segmentPath, { cause: error });
  }
  return error;
}
