/**
 * The named steps of the protocols, in order. Each is reported to the `PROTOCOL_OBSERVER` right
 * after it is durable, so tracing can follow an operation and the crash test can kill the
 * process at exactly that point; reconciliation knows what to do after each of them.
 */
export const ARCHIVE_STEPS = [
  /** `state: archiving` committed: nothing uploaded yet. */
  'archive:intent-recorded',
  /** One file uploaded (reported per file). */
  'archive:file-uploaded',
  /** Every remote object's size and checksums compared with the local file's. */
  'archive:files-verified',
  /** The manifest is in the cold store: the archive is committed in the bucket. */
  'archive:manifest-written',
  /** `cold, archived` committed in the metadata store. */
  'archive:committed',
  /** One local file deleted (reported per file, `.log` last). */
  'archive:local-file-deleted',
] as const;

export const RESTORE_STEPS = [
  /** `state: restoring` committed. */
  'restore:intent-recorded',
  /** One file downloaded and verified to its temp name (reported per file). */
  'restore:file-downloaded',
  /** One temp file renamed into place (reported per file, `.log` last). */
  'restore:file-renamed',
  /** `hot` committed with `lastAccessAt = now`. */
  'restore:committed',
] as const;

export const EVICT_STEPS = [
  /** The manifest and every remote object re-checked. */
  'evict:verified',
  /** `cold` committed. */
  'evict:committed',
  /** One local file deleted (reported per file, `.log` last). */
  'evict:local-file-deleted',
] as const;

export type ProtocolStep = (typeof ARCHIVE_STEPS)[number] | (typeof RESTORE_STEPS)[number] | (typeof EVICT_STEPS)[number];

/** Told of every protocol step as it completes. Register one under `PROTOCOL_OBSERVER`. */
export interface ProtocolObserver {
  reached(step: ProtocolStep, segmentPath: string): void | Promise<void>;
}

/** The default: observes nothing. */
export const NO_PROTOCOL_OBSERVER: ProtocolObserver = { reached: () => {} };
