/**
 * The S3 storage classes a store may write to: those whose objects can be read at once.
 * `GLACIER` (Flexible Retrieval) and `DEEP_ARCHIVE` need a restore before every read, which a
 * cold tier that serves reads cannot wait for; `GLACIER_IR` is the instant-read archive class.
 * MinIO keeps `STANDARD` and `REDUCED_REDUNDANCY` (its parity settings) and refuses the rest
 * unless tiering is configured on the server.
 */
export const S3_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY'] as const;

export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number];

/** Classes a config may name but not use, with the reason its error gives. */
export const S3_UNREADABLE_STORAGE_CLASSES: Readonly<Record<string, string>> = {
  GLACIER: 'objects in GLACIER must be restored before each read; use GLACIER_IR for an instant-read archive class',
  DEEP_ARCHIVE: 'objects in DEEP_ARCHIVE must be restored (for hours) before each read; use GLACIER_IR for an instant-read archive class',
};

/** S3 leaves the class out of a HEAD for its default one. */
export const S3_DEFAULT_STORAGE_CLASS = 'STANDARD';
