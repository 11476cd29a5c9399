import { createHash } from 'node:crypto';
import type { ChunkChecksums } from '../checksums/checksums.js';
import type { Checksums } from '../contracts/cold-store.js';
import { TieringError } from '../errors/tiering-error.js';
import { parseSegmentPath } from '../segments/segment-path.js';
import { SEGMENT_FILE_EXTENSIONS, type SegmentFileExtension } from '../kafka/segment-file-name.js';

export const MANIFEST_FORMAT = 'takhin.segment-manifest' as const;
export const MANIFEST_VERSION = 1;

/** One archived file as the manifest records it. */
export interface ManifestFile extends Checksums {
  readonly key: string;
  readonly size: number;
  /** Per-chunk CRC32Cs, recorded for the `.log` so remote reads can verify each chunk. */
  readonly chunks?: ChunkChecksums;
}

/**
 * The segment manifest (`<segment key>.manifest.json`), written last: its presence in the cold
 * store is the commit of an archive. It names every file with its size and checksums, so a
 * restore, a ranged read or a rebuild needs nothing else; `digest` covers the rest of it, so a
 * damaged manifest is refused instead of believed.
 */
export interface SegmentManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: number;
  readonly segment: string;
  readonly topic: string;
  readonly partition: number;
  /** The topic's id (`partition.metadata`) when the partition had one; absent in older manifests. */
  readonly topicId?: string;
  readonly baseOffset: number;
  /** The `.log`'s modification time when archived, ms since the epoch (restores put it back). */
  readonly lastModified: number;
  /** ISO-8601. */
  readonly archivedAt: string;
  readonly files: { readonly log: ManifestFile } & { readonly [E in Exclude<SegmentFileExtension, 'log'>]?: ManifestFile };
  /** `sha256:<hex>` of the manifest's JSON without this field. */
  readonly digest: string;
}

/** The cold-store key of one of a segment's files: the segment path with that extension. */
export function objectKeyOf(segmentPath: string, extension: SegmentFileExtension = 'log'): string {
  return extension === 'log' ? segmentPath : `${segmentPath.slice(0, -'log'.length)}${extension}`;
}

/** The key of a segment's manifest. */
export function manifestKeyOf(segmentPath: string): string {
  return `${segmentPath}.manifest.json`;
}

/** Every key an archive of `segmentPath` may have written (its files and manifest share this prefix). */
export function segmentKeyPrefix(segmentPath: string): string {
  return segmentPath.slice(0, -'log'.length);
}

/** The segment path a manifest key stands for, or undefined for any other key. */
export function segmentPathOfManifestKey(key: string): string | undefined {
  if (!key.endsWith('.log.manifest.json')) return undefined;
  const path = key.slice(0, -'.manifest.json'.length);
  try {
    return parseSegmentPath(path).path;
  } catch {
    return undefined;
  }
}

export function createManifest(fields: Omit<SegmentManifest, 'format' | 'version' | 'digest'>): SegmentManifest {
  const { segment, topic, partition, topicId, baseOffset, lastModified, archivedAt, files } = fields;
  // An optional field, absent rather than null: a manifest without it reads as before.
  const body = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, segment, topic, partition, ...(topicId !== undefined ? { topicId } : {}), baseOffset, lastModified, archivedAt, files };
  return { ...body, digest: digestOf(body) };
}

export function serializeManifest(manifest: SegmentManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Parses and checks a manifest read from the cold store: its digest, its format and that it
 * describes `segmentPath`. Anything else is `REMOTE_CORRUPT`, never a half-trusted manifest.
 */
export function parseManifest(bytes: Buffer, segmentPath: string): SegmentManifest {
  const corrupt = (why: string) => new TieringError('REMOTE_CORRUPT', `the manifest of ${segmentPath} (${manifestKeyOf(segmentPath)}) is unusable: ${why}`, segmentPath);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw corrupt(`not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw corrupt('not a JSON object');
  const { digest, ...body } = parsed as SegmentManifest;
  if (body.format !== MANIFEST_FORMAT) throw corrupt(`format is ${JSON.stringify(body.format)}, expected "${MANIFEST_FORMAT}"`);
  if (body.version !== MANIFEST_VERSION) throw corrupt(`format version ${String(body.version)} is not ${MANIFEST_VERSION}; upgrade Takhin to read it`);
  if (digest !== digestOf(body)) throw corrupt('its digest does not match its content (damaged in storage or edited)');
  if (body.segment !== segmentPath) throw corrupt(`it describes ${JSON.stringify(body.segment)}`);
  if (typeof body.files?.log?.size !== 'number') throw corrupt('it lists no .log file');
  if (body.topicId !== undefined && typeof body.topicId !== 'string') throw corrupt(`its topicId is ${JSON.stringify(body.topicId)}, not a string`);
  return parsed as SegmentManifest;
}

/** The manifest's files as `[extension, file]` pairs, `.log` last (it is renamed and deleted last). */
export function manifestFiles(manifest: Pick<SegmentManifest, 'files'>): [SegmentFileExtension, ManifestFile][] {
  const files: [SegmentFileExtension, ManifestFile][] = [];
  for (const extension of SEGMENT_FILE_EXTENSIONS) {
    const file = manifest.files[extension];
    if (file !== undefined && extension !== 'log') files.push([extension, file]);
  }
  files.push(['log', manifest.files.log]);
  return files;
}

/** What differs between the files two manifests (or a manifest and local checksums) describe, or undefined. */
export function describeFileDifference(
  expected: Partial<Record<SegmentFileExtension, { size: number } & Partial<Checksums>>>,
  actual: Partial<Record<SegmentFileExtension, { size: number } & Partial<Checksums>>>,
): string | undefined {
  for (const extension of SEGMENT_FILE_EXTENSIONS) {
    const a = expected[extension];
    const b = actual[extension];
    if (a === undefined && b === undefined) continue;
    if (a === undefined || b === undefined) return `.${extension} is ${a === undefined ? 'extra' : 'missing'}`;
    if (a.size !== b.size) return `.${extension} is ${b.size} bytes, expected ${a.size}`;
    for (const name of ['crc32c', 'sha256'] as const) {
      if (a[name] !== undefined && b[name] !== undefined && a[name] !== b[name]) return `.${extension} ${name} is ${b[name]}, expected ${a[name]}`;
    }
  }
  return undefined;
}

function digestOf(body: object): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex')}`;
}
