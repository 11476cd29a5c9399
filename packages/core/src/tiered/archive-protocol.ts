import { allOrFirstFailure } from '../errors/signals.js';
import { TieringError } from '../errors/tiering-error.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { isInternalTopic } from '../segments/segment-path.js';
import { type SegmentFileExtension } from '../kafka/segment-file-name.js';
import { archivedFields } from './archived-record.js';
import { requireTopicNotDeleted } from './deleted-topics.js';
import { describeRunningBroker, runningBroker } from './running-broker.js';
import { deleteSegmentObjects, readManifest, readUsableManifest, writeManifest } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import { remoteDamage, verifyRemoteFiles } from './remote-verification.js';
import type { ChunkChecksums } from '../checksums/checksums.js';
import { createManifest, describeFileDifference, objectKeyOf, type ManifestFile, type SegmentManifest } from './segment-manifest.js';
import { deleteLocalFiles, describeLocalDifference, localFilesOf, type LocalFile } from './segment-files.js';

export interface ArchiveResult {
  readonly segment: SegmentRecord;
  /** `already-archived`: nothing to do, it was (a no-op, as retries and duplicates expect). */
  readonly outcome: 'archived' | 'already-archived';
  /** Bytes sent to the cold store by this call. */
  readonly uploadedBytes: number;
  /** Files a verified copy of which was already in the cold store (an earlier attempt's). */
  readonly reusedFiles: number;
  readonly durationMs: number;
  /**
   * Why the local files were kept (the segment stays local, archived), when they were: a running
   * Kafka broker holds the log dir, and deleting them under it would halt it.
   */
  readonly localFilesKept?: string;
}

/**
 * Archive, step by step (each step durable before the next, each reported to the observer):
 * record the intent; upload every file through the pool with CRC32C and SHA-256; verify each
 * remote object; write the manifest last (the commit in the bucket); commit `cold, archived`;
 * only then delete the local files. A retry after any failure resumes: a file whose verified
 * copy is already there is not uploaded again; an existing manifest is compared, never
 * overwritten.
 */
export class ArchiveProtocol {
  constructor(private readonly context: ProtocolContext) {}

  /** Why `segment` may not be archived, or undefined when it may. */
  refusal(segment: SegmentRecord): string | undefined {
    const { settings, catalog } = this.context;
    if (!settings.enabled) return 'tiered storage is disabled (storage.tiered.enabled: false)';
    if (isInternalTopic(segment.topic)) return `${segment.path} belongs to an internal topic; internal topics (__*) are never tiered`;
    if (settings.topics[segment.topic]?.enabled === false) return `topic "${segment.topic}" is never tiered (storage.tiered.topics.${segment.topic}.enabled: false)`;
    if (catalog.index.isLast(segment)) return `${segment.path} is the active segment of ${segment.topic}-${segment.partition} (its highest base offset): the broker still writes to it`;
    return undefined;
  }

  /**
   * `beforeManifest`, when given, is asked after the uploads are verified and before the manifest
   * is written: what throws there stops the archive before its commit in the bucket, leaving it
   * `archiving` for a retry (the cold store's owner asked again after a long upload).
   */
  async archive(segment: SegmentRecord, options: { signal?: AbortSignal; onProgress?: (bytes: number) => void; beforeManifest?: () => Promise<void> } = {}): Promise<ArchiveResult> {
    const { signal } = options;
    const progress = fileProgress(options.onProgress);
    const started = performance.now();
    if (segment.isArchived) return { segment, outcome: 'already-archived', uploadedBytes: 0, reusedFiles: 0, durationMs: 0 };
    const refusal = this.refusal(segment);
    if (refusal !== undefined) throw new TieringError(this.context.settings.enabled ? 'NOT_ALLOWED' : 'TIERING_DISABLED', `cannot archive ${segment.path}: ${refusal}`, segment.path);
    const { catalog, observer, dataDir } = this.context;

    const local = await localFilesOf(dataDir, segment);
    if (!local.some((file) => file.extension === 'log')) {
      throw new TieringError('UNKNOWN_SEGMENT', `cannot archive ${segment.path}: its .log is no longer on local disk`, segment.path);
    }
    const topicId = await requireTopicNotDeleted(dataDir, segment, 'archive');
    const resuming = segment.state === 'archiving';
    let current = segment;
    if (!resuming) {
      current = await catalog.update(segment.path, { state: 'archiving' });
      await observer.reached('archive:intent-recorded', segment.path);
    }

    let manifest: SegmentManifest;
    let uploadedBytes = 0;
    let reusedFiles = 0;
    try {
      const existing = await this.#existingArchive(segment, local, topicId, signal);
      if (existing) {
        manifest = existing;
        reusedFiles = local.length;
      } else {
        // Every upload settles before the archive fails (the first failure aborts the others), as
        // a restore's downloads do (docs/ARCHITECTURE.md, "The protocols"): a roll-back that ran
        // while another file's put was still landing left that object behind, an orphan.
        const uploaded = await allOrFirstFailure(signal, (shared) => local.map((file) => this.#upload(current, file, resuming, shared, progress?.(file.extension))));
        uploadedBytes = uploaded.reduce((sum, file) => sum + file.uploadedBytes, 0);
        reusedFiles = uploaded.filter((file) => file.uploadedBytes === 0).length;
        const files = Object.fromEntries(uploaded.map((file) => [file.extension, file.manifestFile])) as SegmentManifest['files'];
        await verifyRemoteFiles(this.context.store, segment.path, files, signal);
        await observer.reached('archive:files-verified', segment.path);
        await options.beforeManifest?.();
        manifest = await writeManifest(
          this.context.store,
          createManifest({
            segment: segment.path,
            topic: segment.topic,
            partition: segment.partition,
            topicId,
            baseOffset: segment.baseOffset,
            lastModified: segment.lastModified,
            archivedAt: new Date(this.context.clock.now()).toISOString(),
            files,
          }),
          (other) => describeFileDifference(other.files, files),
          signal,
        );
        await observer.reached('archive:manifest-written', segment.path);
      }
    } catch (error) {
      if (signal?.aborted) await this.#rollBack(segment);
      throw error;
    }

    const broker = await runningBroker(dataDir);
    // Beside a running broker the segment stays local (archived, as a restored one is).
    const committed = await catalog.update(segment.path, broker ? { ...archivedFields(manifest), policy: segment.policy } : archivedFields(manifest));
    await observer.reached('archive:committed', segment.path);
    if (!broker) await deleteLocalFiles(dataDir, segment, manifest, () => observer.reached('archive:local-file-deleted', segment.path));
    const durationMs = performance.now() - started;
    if (!broker) this.context.events.emit('segment:tier-changed', committed, segment.policy, 'cold');
    this.context.events.emit('segment:archived', committed, { bytes: uploadedBytes, durationMs, reused: reusedFiles });
    const kept = broker ? { localFilesKept: describeRunningBroker(dataDir, broker) } : {};
    return { segment: committed, outcome: 'archived', uploadedBytes, reusedFiles, durationMs, ...kept };
  }

  /**
   * After an abort (the archiver stopping): unless the manifest made it, deletes what this
   * archive uploaded and clears the intent, so nothing is left half-done. With the manifest in
   * place the archive is committed in the bucket and the next attempt finishes it.
   */
  async #rollBack(segment: SegmentRecord): Promise<void> {
    const { store, catalog } = this.context;
    if (await readManifest(store, segment.path).catch(() => true)) return;
    await deleteSegmentObjects(store, segment.path);
    await catalog.update(segment.path, { state: 'idle' });
  }

  /** Uploads one file, or reuses a verified copy an interrupted attempt left in the cold store. */
  async #upload(
    segment: SegmentRecord,
    file: LocalFile,
    resuming: boolean,
    signal?: AbortSignal,
    onProgress?: (bytes: number) => void,
  ): Promise<UploadedFile> {
    const { store, pool, target, observer, settings } = this.context;
    const key = objectKeyOf(segment.path, file.extension);
    if (resuming) {
      const remote = await store.head(key, { signal });
      if (remote !== null && remote.size === file.size) {
        const local = await pool.checksumFile(file.path, { signal });
        if (local.size === file.size && remote.checksums.crc32c === local.crc32c && (remote.checksums.sha256 === undefined || remote.checksums.sha256 === local.sha256)) {
          return { extension: file.extension, manifestFile: { key, size: local.size, crc32c: local.crc32c, sha256: local.sha256, ...(await this.#chunks(file, signal)) }, uploadedBytes: 0 };
        }
      }
    }
    const chunkSize = file.extension === 'log' ? Math.round(settings.cache.chunkSizeMb * 1024 * 1024) : undefined;
    const stored = await pool.uploadFile(file.path, key, target, { signal, onProgress, ...(chunkSize !== undefined ? { chunkSize } : {}) });
    if (stored.size !== file.size) {
      throw new TieringError('CORRUPT_SEGMENT', `${file.path} changed size while it was archived (${file.size} bytes, then ${stored.size})`, segment.path);
    }
    await observer.reached('archive:file-uploaded', segment.path);
    const { chunks } = stored;
    return { extension: file.extension, manifestFile: { key, size: stored.size, ...stored.checksums, ...(chunks ? { chunks } : {}) }, uploadedBytes: stored.size };
  }

  /** Per-chunk CRC32Cs of a reused `.log` (other files need none). */
  async #chunks(file: LocalFile, signal?: AbortSignal): Promise<{ chunks?: ChunkChecksums }> {
    if (file.extension !== 'log') return {};
    const chunkSize = Math.round(this.context.settings.cache.chunkSizeMb * 1024 * 1024);
    const { chunks } = await this.context.pool.checksumFile(file.path, { signal, chunkSize });
    return chunks ? { chunks } : {};
  }

  /**
   * An archive of the segment the cold store already holds (a crash after its manifest, a
   * metadata file lost or rebuilt), taken only when the local files are exactly what its manifest
   * describes and every object it lists is there and whole: local files are never deleted on the
   * word of a manifest alone. One whose objects went missing or were damaged since is deleted,
   * the local copy being whole, and the segment is archived again (undefined). An unusable
   * manifest is refused and left alone: it may be a newer release's.
   */
  async #existingArchive(segment: SegmentRecord, local: readonly LocalFile[], topicId: string | undefined, signal?: AbortSignal): Promise<SegmentManifest | undefined> {
    const { store, catalog } = this.context;
    const { manifest, unusable } = await readUsableManifest(store, segment.path, signal);
    if (unusable !== undefined) {
      await catalog.update(segment.path, { state: 'idle' });
      throw new TieringError('REMOTE_CORRUPT', `cannot archive ${segment.path}: ${unusable}; nothing was uploaded or deleted, and the segment stays local until that object is repaired or removed`, segment.path);
    }
    if (manifest === undefined) return undefined;
    await this.#requireSameAsLocal(manifest, local, topicId, signal);
    if ((await remoteDamage(store, segment.path, manifest.files, signal)) === undefined) return manifest;
    await deleteSegmentObjects(store, segment.path);
    return undefined;
  }

  /**
   * The local files must be exactly what an existing manifest describes, and of the same topic
   * (a deleted one's archive would be deleted with it), or nothing is touched.
   */
  async #requireSameAsLocal(manifest: SegmentManifest, local: readonly LocalFile[], topicId: string | undefined, signal?: AbortSignal): Promise<void> {
    const difference =
      manifest.topicId !== undefined && topicId !== undefined && manifest.topicId !== topicId
        ? `it is of topic id ${manifest.topicId}, the partition's is ${topicId}`
        : await describeLocalDifference(this.context.pool, manifest, local, { signal });
    if (difference !== undefined) {
      await this.context.catalog.update(manifest.segment, { state: 'idle' });
      throw new TieringError(
        'REMOTE_CORRUPT',
        `cannot archive ${manifest.segment}: the cold store already holds a different archive of it (${difference}); nothing was uploaded or deleted`,
        manifest.segment,
      );
    }
  }
}

/** A file of the segment in the cold store: uploaded, or reused from an interrupted attempt (`uploadedBytes: 0`). */
interface UploadedFile {
  extension: SegmentFileExtension;
  manifestFile: ManifestFile;
  uploadedBytes: number;
}

/** One progress callback per file, reporting the sum of all files to `onProgress`. */
export function fileProgress(onProgress: ((bytes: number) => void) | undefined): ((file: string) => (bytes: number) => void) | undefined {
  if (onProgress === undefined) return undefined;
  const done = new Map<string, number>();
  return (file) => (bytes) => {
    done.set(file, bytes);
    let total = 0;
    for (const value of done.values()) total += value;
    onProgress(total);
  };
}
