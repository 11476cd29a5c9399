import type { ColdStore, StoreContext } from '@takhin/core';

/** An S3-protocol server and the keys to it: the shared MinIO, a private one, or a stub. */
export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** A store's settings in neutral names; each backend maps them to its own config keys. */
export interface S3FamilySettings extends S3Server {
  bucket: string;
  prefix: string;
  /** Bytes per multipart part, in MiB. */
  partSizeMb: number;
  /** Parts in flight at once; with `partSizeMb`, the store's memory bound. */
  queueSize: number;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** The backend's `storageClass` key. */
  storageClass?: string;
}

/** A ColdStore speaking the S3 protocol: multipart uploads it can clean up after a crash. */
export interface S3FamilyStore extends ColdStore {
  readonly partSize: number;
  /** Aborts uploads under the store's prefix older than `olderThanMs`; returns how many. */
  abortStaleUploads(olderThanMs: number): Promise<number>;
}

/**
 * The raw server as the backend's own client sees it, for checks the store does not offer.
 * Keeps `@takhin/testkit` free of any S3 SDK: each backend's tests bring theirs.
 */
export interface S3ServerInspector {
  /** Creates `bucket`; one that already exists is fine. */
  createBucket(bucket: string): Promise<void>;
  /** `key uploadId` of each multipart upload open in `bucket` under `prefix`. */
  openUploads(bucket: string, prefix: string): Promise<string[]>;
  /** Starts an upload of `key` and sends `firstPart`, then leaves it open: a writer that died. */
  leaveUploadOpen(bucket: string, key: string, firstPart: Uint8Array): Promise<void>;
  close?(): void;
}

/** What an S3-family backend's tests supply to the shared suites: only what differs. */
export interface S3FamilyBackend<Config = unknown> {
  /** The module a TransferPool worker loads the backend from (its provider's `module`). */
  module: string;
  /** The backend's own config for `settings`, as plain data. */
  config(settings: S3FamilySettings): Config;
  /** A store on `config`, built without touching the network (as `provider.create` builds it). */
  createStore(config: Config, context?: StoreContext): S3FamilyStore;
  inspect(server: S3Server): S3ServerInspector;
}
