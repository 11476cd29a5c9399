import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Outcome {
  outcome: 'ok' | 'failed';
  value?: unknown;
  cls?: string;
  code?: string;
  retryable?: boolean;
  localPath?: string | null;
  message?: string;
}
type RootResults = Record<string, Outcome>;

// A read-only filesystem needs a mount: a read-only bind mount in a private mount namespace of an
// unprivileged user namespace (`unshare -rm`), where a child runs every operation on store roots there.
describe('an FS cold store whose root is on a read-only filesystem', () => {
  let work: string;
  let folder: string;
  let results: Record<'used' | 'empty' | 'missing', RootResults>;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'takhin-fs-read-only-'));
    folder = join(work, 'mounted');
    const outside = join(work, 'writable');
    await mkdir(folder);
    await mkdir(outside);
    const script = join(import.meta.dirname, 'fixtures', 'read-only-root.mjs');
    const { stdout } = await promisify(execFile)('unshare', ['-rm', process.execPath, script, folder, outside], {
      cwd: join(import.meta.dirname, '..'),
      timeout: 90_000,
    });
    results = JSON.parse(stdout.trim().split('\n').at(-1)!);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  /** ACCESS_DENIED, not retried, the store's own (no local path), naming the read-only filesystem and a path under the root. */
  const readOnly = (root: string) => ({
    outcome: 'failed',
    cls: 'ColdStoreError',
    code: 'ACCESS_DENIED',
    retryable: false,
    localPath: null,
    message: expect.stringMatching(new RegExp(`EROFS: read-only file system, (mkdir|open|unlink) '${join(folder, root)}`)),
  });

  it('every write to a root in use is ACCESS_DENIED naming the file it could not create, and the stored copies stay readable', () => {
    const used = results.used;
    // Before: the temp file's cleanup (unlink, EROFS too) replaced the write's own error.
    for (const put of ['putSmall', 'putStreamed', 'putCreateOnly', 'putOverwrite', 'poolUpload']) {
      expect(used[put], put).toMatchObject(readOnly('used/.takhin/tmp/'));
      expect(used[put]!.message, put).toMatch(/, open '/);
    }
    expect(used.getExisting).toEqual({ outcome: 'ok', value: 'kept bytes' });
    expect(used.getMissing).toMatchObject({ outcome: 'failed', code: 'NOT_FOUND' });
    expect(used.headExisting).toEqual({ outcome: 'ok', value: 10 });
    expect(used.headMissing).toEqual({ outcome: 'ok', value: null });
    expect(used.list).toEqual({ outcome: 'ok', value: ['deep/er/object', 'exists'] });
    expect(used.deleteExisting).toMatchObject(readOnly('used/exists'));
    expect(used.deleteMissing).toEqual({ outcome: 'ok', value: null });
    expect(used.deleteMany).toMatchObject(readOnly('used/deep/er/object'));
    expect(used.openUploads).toEqual({ outcome: 'ok', value: [] });
  });

  it('a put to an empty or missing root is ACCESS_DENIED naming the folder it could not make, not NOT_FOUND', () => {
    // Before: NOT_FOUND ('object "new/small" does not exist'): Node's recursive mkdir reports ENOENT on a read-only filesystem.
    for (const [root, folderMade] of [['empty', 'empty/.takhin'], ['missing', 'missing']] as const) {
      for (const put of ['putSmall', 'putStreamed', 'putCreateOnly', 'putOverwrite', 'poolUpload']) {
        expect(results[root][put], `${root} ${put}`).toMatchObject(readOnly(folderMade));
        expect(results[root][put]!.message, `${root} ${put}`).toMatch(new RegExp(`mkdir '${join(folder, folderMade)}'$`));
      }
      // Reads of a store with nothing in it: nothing is there, which is no failure.
      expect(results[root].getExisting, root).toMatchObject({ outcome: 'failed', code: 'NOT_FOUND' });
      expect(results[root].headExisting, root).toEqual({ outcome: 'ok', value: null });
      expect(results[root].list, root).toEqual({ outcome: 'ok', value: [] });
      expect(results[root].deleteExisting, root).toEqual({ outcome: 'ok', value: null });
      expect(results[root].openUploads, root).toEqual({ outcome: 'ok', value: [] });
    }
  });
});
