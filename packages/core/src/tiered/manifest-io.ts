import type { ColdStore } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { TieringError } from '../errors/tiering-error.js';
import { manifestKeyOf, parseManifest, segmentKeyPrefix, serializeManifest, type SegmentManifest } from './segment-manifest.js';

/** Manifests are a few KiB; anything far larger is not one of ours. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** The segment's manifest from the cold store, checked; undefined when there is none. */
export async function readManifest(store: ColdStore, segmentPath: string, signal?: AbortSignal): Promise<SegmentManifest | undefined> {
  const body = await readSmallObject(store, manifestKeyOf(segmentPath), MAX_MANIFEST_BYTES, signal, () => {
    throw new TieringError('REMOTE_CORRUPT', `the manifest of ${segmentPath} is over ${MAX_MANIFEST_BYTES} bytes: not a manifest`, segmentPath);
  });
  return body && parseManifest(body, segmentPath);
}

/**
 * The whole of a small object of ours (a manifest, the owner claim), or undefined when there is
 * none; `tooLarge` throws once it passes `maxBytes`, so a stranger's large object is never held.
 */
export async function readSmallObject(store: ColdStore, key: string, maxBytes: number, signal: AbortSignal | undefined, tooLarge: () => never): Promise<Buffer | undefined> {
  let body: AsyncIterable<Buffer>;
  try {
    body = await store.get(key, { signal });
  } catch (error) {
    if (error instanceof ColdStoreError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The segment's manifest, or why there is none to use: absent, or present and unusable (damaged,
 * of another segment, of a newer format). A store that does not answer fails: that says
 * nothing about the manifest, and what is decided on this must not be decided on a guess.
 */
export async function readUsableManifest(store: ColdStore, segmentPath: string, signal?: AbortSignal): Promise<{ manifest?: SegmentManifest; unusable?: string }> {
  try {
    return { manifest: await readManifest(store, segmentPath, signal) };
  } catch (error) {
    if (error instanceof TieringError && error.code === 'REMOTE_CORRUPT') return { unusable: error.message };
    throw error;
  }
}

/** The manifest, or `REMOTE_MISSING` naming the key when the cold store has none. */
export async function requireManifest(store: ColdStore, segmentPath: string, signal?: AbortSignal): Promise<SegmentManifest> {
  const manifest = await readManifest(store, segmentPath, signal);
  if (manifest) return manifest;
  throw new TieringError('REMOTE_MISSING', `${segmentPath} is recorded as archived but its manifest ${manifestKeyOf(segmentPath)} is not in the ${store.backend} cold store`, segmentPath);
}

/**
 * Deletes every object under a segment's keys (its files, its manifest, uploads an archive left
 * without one), the manifest first, so no rebuild finds a manifest whose files are gone; returns
 * how many there were.
 */
export async function deleteSegmentObjects(store: ColdStore, segmentPath: string): Promise<number> {
  const keys: string[] = [];
  for await (const object of store.list(segmentKeyPrefix(segmentPath))) keys.push(object.key);
  const manifest = manifestKeyOf(segmentPath);
  if (keys.includes(manifest)) await store.delete(manifest);
  const files = keys.filter((key) => key !== manifest);
  if (files.length > 0) await store.delete(files);
  return keys.length;
}

/**
 * Writes the manifest, create-only. It does not trust the server to honour `ifNoneMatch` (some
 * S3-compatible servers ignore it): an existing manifest is read and must describe the same
 * files, and what was written is read back and must be ours. Either way the result is the one
 * manifest the cold store holds, or `REMOTE_CORRUPT` when another archive claims the path.
 */
export async function writeManifest(store: ColdStore, manifest: SegmentManifest, sameFiles: (other: SegmentManifest) => string | undefined, signal?: AbortSignal): Promise<SegmentManifest> {
  const key = manifestKeyOf(manifest.segment);
  try {
    await store.put(key, serializeManifest(manifest), { ifNoneMatch: true, signal, metadata: { 'segment-manifest': String(manifest.version) } });
  } catch (error) {
    if (!(error instanceof ColdStoreError && error.code === 'ALREADY_EXISTS')) throw error;
  }
  const stored = await requireManifest(store, manifest.segment, signal);
  const difference = stored.digest === manifest.digest ? undefined : sameFiles(stored);
  if (difference !== undefined) {
    throw new TieringError('REMOTE_CORRUPT', `another archive of ${manifest.segment} is in the cold store (${key}) and differs: ${difference}; nothing was overwritten`, manifest.segment);
  }
  return stored;
}
