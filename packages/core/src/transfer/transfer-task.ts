import type { MessagePort } from 'node:worker_threads';
import type { BackendTarget } from '../contracts/backend-provider.js';
import type { ChunkChecksums } from '../checksums/checksums.js';
import type { ByteRange, Checksums, ObjectDescription } from '../contracts/cold-store.js';
import type { StoreMetricsSnapshot } from '../metrics/store-metrics.js';
import type { SerializedTransferError } from './transfer-error.js';

// The wire protocol between TransferPool (main thread) and transfer-worker: plain data only,
// so every message survives structured cloning. No segment bytes ever cross it.

/** What every task carries to be cancellable and to report progress (see task-control.ts). */
export interface TaskControlHandle {
  /** One Int32 cell: the start/cancel handshake between the two threads. */
  state: Int32Array;
  /** The worker's end of the task's channel: receives `abort`, sends `progress`. */
  port: MessagePort;
  /** Minimum milliseconds between progress messages; 0 sends none. */
  progressIntervalMs: number;
}

export interface ChecksumTask {
  op: 'checksum';
  path: string;
  chunkSize?: number | undefined;
  control: TaskControlHandle;
}

export interface UploadTask {
  op: 'upload';
  path: string;
  key: string;
  target: BackendTarget;
  metadata?: Record<string, string> | undefined;
  ifNoneMatch?: boolean | undefined;
  chunkSize?: number | undefined;
  control: TaskControlHandle;
}

export interface DownloadTask {
  op: 'download';
  key: string;
  path: string;
  target: BackendTarget;
  expected?: Partial<Checksums> | undefined;
  range?: ByteRange | undefined;
  syncDirectory?: boolean | undefined;
  size?: number | undefined;
  streams?: number | undefined;
  /** The temp file beside `path`, chosen by the pool so it can delete it if the worker dies. */
  temp: string;
  control: TaskControlHandle;
}

/** Closes the worker's cached backends; `barrier` makes every worker take exactly one. */
export interface ReleaseTask {
  op: 'release';
  barrier: Int32Array;
  parties: number;
  timeoutMs: number;
}

/** Builds `target`'s store in the worker that takes it; `barrier` makes every worker take exactly one. */
export interface WarmTask {
  op: 'warm';
  target: BackendTarget;
  barrier: Int32Array;
  parties: number;
  timeoutMs: number;
}

export type TransferTask = ChecksumTask | UploadTask | DownloadTask | ReleaseTask | WarmTask;

/** `checksumFile`'s result: the file's length and both digests from one read. */
export interface FileChecksums extends Checksums {
  size: number;
  /** With the `chunkSize` option: the CRC32C of every chunk, from the same read. */
  chunks?: ChunkChecksums | undefined;
}

/** `uploadFile`'s result: the stored object's description, with both checksums from the one pass. */
export interface UploadResult extends ObjectDescription {
  checksums: Checksums;
  /** With the `chunkSize` option: the CRC32C of every chunk, from the same pass. */
  chunks?: ChunkChecksums | undefined;
}

/** `downloadFile`'s result. */
export interface DownloadResult {
  key: string;
  /** The destination, now holding the verified bytes. */
  path: string;
  size: number;
  /** Both checksums of the bytes written. */
  checksums: Checksums;
  /** Which checksums were compared against the expected ones (never empty). */
  verified: Array<keyof Checksums>;
}

/**
 * Errors travel as data because structured cloning drops an Error's own fields (`code`).
 * `metrics` holds what the worker's stores counted during the task, merged on the main thread.
 */
export type TaskOutcome<T> = ({ ok: true; value: T } | { ok: false; error: SerializedTransferError }) & { metrics?: StoreMetricsSnapshot | undefined };

/** Messages the worker posts on a task's channel. */
export interface ProgressMessage {
  type: 'progress';
  bytes: number;
}

/** Messages the main thread posts on a task's channel. */
export interface AbortMessage {
  type: 'abort';
  reason: string;
}
