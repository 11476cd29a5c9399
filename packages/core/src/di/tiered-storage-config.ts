/**
 * The `storage.tiered` section as plain data: which backend, and one section per backend
 * (`fs`, `s3`, `minio`, `gcs`, `azure`, or a third party's name) holding that backend's keys.
 */
export interface TieredStorageConfig {
  backend: string;
  [backendName: string]: unknown;
}
