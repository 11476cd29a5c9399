import type { CorpusFile, TransferShape } from './transfer-corpus.js';

/** One timed transfer of a whole shape, in one direction. */
export interface TransferJob {
  shape: TransferShape;
  /** Run number, from 1: keeps each run's objects and folders apart. */
  run: number;
  /** Key prefix (no trailing `/`) this client uploads under: `<prefix>/<file.relative>`. */
  uploadPrefix: string;
  /** Key prefix downloads read: what the pool uploaded, untimed, at the start of the run, so every client reads the same objects. */
  downloadPrefix: string;
  /** An empty local folder downloads go to (`<downloadDir>/<file.relative>`). */
  downloadDir: string;
}

/**
 * Who moves the bytes: ours (through the pool or the tiering entry points), another client, or
 * a `reference` that is no client of a cold store (the fs backend's in-kernel `copyFile`), shown
 * beside the others but not a target.
 */
export type ClientKind = 'ours' | 'rclone' | 'mc' | 'sdk' | 'reference';

/** A checksum a client may compute of the bytes it moves. */
export type ChecksumName = 'CRC32C' | 'SHA-256' | 'MD5';

export interface TransferClient {
  /** Short id used in JSON and ratios: `pool`, `tiered`, `rclone`, `mc`, `sdk`. */
  id: string;
  kind: ClientKind;
  /** What it is, as the tables show it. */
  label: string;
  /** Files in flight at once, as this client runs them by default (for the report). */
  concurrency: string;
  /**
   * The checksums it computes of the bytes it moves, per direction, where known for certain
   * (an empty list: none). Unknown is left out: a missed target's CPU accounting credits ours
   * only for checksums a client is known not to compute (target-bounds.ts).
   */
  computes?: { up?: readonly ChecksumName[]; down?: readonly ChecksumName[] };
  /** Untimed set-up before an upload (the tiering client opens a broker here). */
  beforeUpload?(job: TransferJob): Promise<void>;
  upload(job: TransferJob): Promise<void>;
  /**
   * Untimed, after the bench has checked an upload and before it deletes it (the tiering client
   * closes its broker here).
   */
  afterUpload?(job: TransferJob): Promise<void>;
  download(job: TransferJob): Promise<void>;
  /**
   * Untimed, before each download (the pool warms its threads, as a running broker's are; the
   * tiering client archives the shape again, its upload having been deleted, to restore it).
   */
  beforeDownload?(job: TransferJob): Promise<void>;
  /** Untimed tidy-up after a download (after the bench has checked what it wrote). */
  afterDownload?(job: TransferJob): Promise<void>;
  /**
   * Where its download of `file` lands, when not at `<downloadDir>/<file.relative>` (the tiering
   * client restores into its broker's data dir). The bench checks every download there, outside
   * the clock, against the corpus's size and checksums.
   */
  downloadedPath?(job: TransferJob, file: CorpusFile): string;
  /**
   * Its uploads are not the shape's files under `uploadPrefix`, key for key (the tiering client's
   * archive layout, which archiveSegment verifies against the store itself): the bench's check
   * of every upload's keys and sizes passes it over.
   */
  ownUploadLayout?: boolean;
  close?(): Promise<void>;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
