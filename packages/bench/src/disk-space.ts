import { statfsSync } from 'node:fs';

const MiB = 1024 * 1024;
const GB = 1e9;

/**
 * Uploads of each shape a throughput run makes per timed run and backend: the pool's untimed
 * download objects, the pool's, the tiering client's, rclone's, the SDK's, and the tiering
 * client's untimed archive before its restore (mc is on MinIO only).
 */
const UPLOADS_PER_RUN = 6;

/** What the throughput scenario would have on disk at its peak, in bytes, and why. */
export interface DiskNeed {
  bytes: number;
  why: string;
}

/**
 * The disk the throughput scenario needs at its peak. Azurite keeps every deleted blob's data
 * until its own collector frees it (every 10 minutes; in a full run it freed little). The bench
 * starts an Azurite it started itself again, empty, before every run (`restartsAzurite`), so it
 * holds one run of one shape at most: that run's warm-up and `UPLOADS_PER_RUN`. An Azurite that
 * was running before the bench keeps every upload of every run: the warm-up's and
 * `UPLOADS_PER_RUN` a run, per shape. MinIO's trash is emptied after every delete, and
 * fake-gcs-server holds objects in memory. Besides the server, the corpus and one download of
 * each shape are on disk.
 */
export function throughputDiskNeed(
  backends: readonly string[],
  shapes: ReadonlyArray<readonly [number, number]>,
  runs: number,
  options: { restartsAzurite: boolean },
): DiskNeed {
  const bytesOf = ([count, mib]: readonly [number, number]) => count * mib * MiB;
  const shapeBytes = shapes.reduce((sum, shape) => sum + bytesOf(shape), 0);
  const held = options.restartsAzurite ? (1 + UPLOADS_PER_RUN) * Math.max(0, ...shapes.map(bytesOf)) : (1 + UPLOADS_PER_RUN * runs) * shapeBytes;
  const azurite = backends.includes('azure') ? held : 0;
  const local = 2 * shapeBytes;
  const why = azurite > 0 ? `Azurite keeps deleted blobs' data until its 10-minute collector: ${(azurite / GB).toFixed(1)} GB; the corpus and its downloads: ${(local / GB).toFixed(1)} GB` : `the corpus and its downloads`;
  return { bytes: azurite + local, why };
}

/** Bytes free to this process under `path` (`statfs`: blocks available to non-root users). */
export function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

/**
 * A message saying why the run would fill the disk under `path`, or undefined when `free` bytes
 * cover `need` with a tenth to spare. Checked before anything runs: a full disk an hour in
 * ended a run with no results at all (ENOSPC in Azurite's last case, 2026-11-27 19:55).
 */
export function diskShortfall(need: DiskNeed, free: number, path: string): string | undefined {
  if (free >= need.bytes * 1.1) return undefined;
  return `the throughput runs need about ${((need.bytes * 1.1) / GB).toFixed(1)} GB free under ${path} (${need.why}), and ${(free / GB).toFixed(1)} GB are: free some, or ask for fewer --runs, smaller --shapes or other --backends`;
}
