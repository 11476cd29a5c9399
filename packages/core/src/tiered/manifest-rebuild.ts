import type { SegmentRecord } from '../metadata/segment-record.js';
import { scanLogDir } from '../segments/log-dir-scanner.js';
import { parseSegmentPath } from '../segments/segment-path.js';
import { archivedFields } from './archived-record.js';
import { readManifest } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import type { RecordDraft } from './segment-catalog.js';
import type { HoldSegments } from './segment-locks.js';
import { segmentPathOfManifestKey, type SegmentManifest } from './segment-manifest.js';

/**
 * What a rebuild found and committed. The counts are of records written: one an operation
 * changed while the rebuild ran is left as that operation left it, and counted in none.
 */
export interface RebuildReport {
  /** Manifests found in the cold store. */
  readonly manifests: number;
  /** Records created from a manifest (the metadata did not know the segment). */
  readonly created: number;
  /** Records corrected from a manifest. */
  readonly updated: number;
  /** Records that claimed an archive the cold store does not have: local ones are now unarchived, others dropped. */
  readonly unarchived: number;
  readonly dropped: number;
  /** Manifests that could not be used, with the reason. */
  readonly problems: string[];
}

/** Manifests read at once while rebuilding. */
const PARALLEL_READS = 16;
const COMMIT_BATCH = 5_000;

/**
 * Recreates the metadata of every archived segment from the manifests in the cold store alone
 * (a new broker, a lost metadata file): the bucket is the source of truth for what is archived,
 * the data dir for what is local.
 */
export async function rebuildFromManifests(context: ProtocolContext, holdAll: HoldSegments): Promise<RebuildReport> {
  const { store, catalog, dataDir } = context;
  const paths: string[] = [];
  for await (const object of store.list('')) {
    const path = segmentPathOfManifestKey(object.key);
    if (path !== undefined) paths.push(path);
  }
  const problems: string[] = [];
  const manifests = new Map<string, SegmentManifest>();
  /** Manifests listed but not read (damaged, or the read failed): their records are left as they are. */
  const unread = new Set<string>();
  for (let i = 0; i < paths.length; i += PARALLEL_READS) {
    await Promise.all(
      paths.slice(i, i + PARALLEL_READS).map(async (path) => {
        try {
          const manifest = await readManifest(store, path);
          if (manifest) manifests.set(path, manifest);
        } catch (error) {
          unread.add(path);
          problems.push(`${path}: ${(error as Error).message}; its record is left as it is`);
        }
      }),
    );
  }
  // The records as they were before the data dir was read: one an operation changed since (a
  // restore or an evict that finished meanwhile; a rebuild holds no segment's lock) is left as
  // that operation left it, not written over with what this stale read of the disk says.
  const before = new Map([...manifests.keys()].map((path) => [path, catalog.get(path)?.version]));
  const local = new Set((await scanLogDir(dataDir)).map((segment) => segment.path));
  const drafts: RecordDraft[] = [];
  const basedOn = new Map<string, number | undefined>();
  const deletions: string[] = [];
  /** What each draft does, counted once it is committed: one an operation changed meanwhile is not. */
  const kinds = new Map<string, 'created' | 'updated' | 'unarchived'>();
  for (const [path, manifest] of manifests) {
    const existing = catalog.get(path);
    if (existing?.version !== before.get(path)) continue;
    basedOn.set(path, existing?.version);
    const isLocal = local.has(path);
    const base: RecordDraft = existing ?? {
      ...parseSegmentPath(path),
      size: manifest.files.log.size,
      files: { log: { size: manifest.files.log.size } },
      lastModified: manifest.lastModified,
      lastAccessAt: manifest.lastModified,
      policy: 'cold',
      isArchived: false,
      state: 'idle',
    };
    const policy = !isLocal ? 'cold' : base.policy === 'cold' ? 'hot' : base.policy;
    drafts.push({ ...stripVersion(base), ...archivedFields(manifest), size: manifest.files.log.size, policy });
    kinds.set(path, existing ? 'updated' : 'created');
  }
  // Records claiming an archive no listed manifest backs. An archive that finished while the
  // manifests were being read (rebuild holds no segment's lock) has one by now: its record stands.
  const claims = [...catalog.index.values()].filter((record) => record.isArchived && !manifests.has(record.path) && !unread.has(record.path));
  const backed = new Set<string>();
  for (let i = 0; i < claims.length; i += PARALLEL_READS) {
    await Promise.all(claims.slice(i, i + PARALLEL_READS).map(async ({ path }) => (await readManifest(store, path).catch(() => true)) && backed.add(path)));
  }
  for (const claim of claims) {
    const record = catalog.get(claim.path);
    if (record === undefined || !record.isArchived || backed.has(record.path)) continue;
    if (local.has(record.path)) {
      basedOn.set(record.path, record.version);
      drafts.push({ ...stripVersion(record), policy: record.policy === 'cold' ? 'hot' : record.policy, isArchived: false, objectKey: undefined, archivedAt: undefined, state: 'idle' });
      kinds.set(record.path, 'unarchived');
    } else {
      basedOn.set(record.path, record.version);
      deletions.push(record.path);
    }
  }
  // Each batch is committed holding its segments (docs/ARCHITECTURE.md, "Reconciliation"): an
  // operation that began after the rebuild did is let finish first, its commit included, and one
  // asked meanwhile waits. Without the locks, a commit of theirs still in flight (in the store,
  // not yet in the index) failed the other's with METADATA_CONFLICT, an archive's or evict's too.
  const counts = { created: 0, updated: 0, unarchived: 0, dropped: 0 };
  for (let i = 0; i < Math.max(drafts.length, deletions.length); i += COMMIT_BATCH) {
    const batch = drafts.slice(i, i + COMMIT_BATCH);
    const gone = deletions.slice(i, i + COMMIT_BATCH);
    await holdAll([...batch.map((draft) => draft.path), ...gone], async () => {
      const unchanged = (path: string) => catalog.get(path)?.version === basedOn.get(path);
      const written = batch.filter((draft) => unchanged(draft.path));
      const dropped = gone.filter(unchanged);
      await catalog.apply(written, dropped);
      for (const draft of written) counts[kinds.get(draft.path)!]++;
      counts.dropped += dropped.length;
      for (const path of dropped) problems.push(`${path}: recorded as archived, but there is no manifest in the cold store and no local copy; record dropped`);
    });
  }
  return { manifests: manifests.size, ...counts, problems };
}

function stripVersion(record: RecordDraft | SegmentRecord): RecordDraft {
  const { version: _version, ...draft } = record as SegmentRecord;
  return draft;
}
