import { TieringError } from '../errors/tiering-error.js';
import type { MetadataWrite } from './metadata-store.js';

/** Why `write` may not apply to a store holding `storedVersion`, or undefined when it may. */
export function versionConflict(write: MetadataWrite, storedVersion: number | undefined): TieringError | undefined {
  if (write.ifVersion === undefined) return undefined;
  const path = 'put' in write ? write.put.path : write.delete;
  const expected = write.ifVersion;
  const ok = expected === 'absent' ? storedVersion === undefined : storedVersion === expected;
  if (ok) return undefined;
  const found = storedVersion === undefined ? 'no record' : `version ${storedVersion}`;
  const wanted = expected === 'absent' ? 'no record' : `version ${expected}`;
  return new TieringError('METADATA_CONFLICT', `metadata of ${path} changed under us: expected ${wanted}, found ${found}`, path);
}
