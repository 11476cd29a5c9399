import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/bench-services.js';
import { startDiskProbe } from '../src/probes/disk-probe.js';

/** Git-ignored, and on the disk the repository is on (a temp folder may be a tmpfs, with no device to count). */
const SCRATCH = join(REPO_ROOT, '.services');

describe('startDiskProbe', () => {
  it("counts what the disk under a folder wrote, an fsynced file's bytes at least", async () => {
    await mkdir(SCRATCH, { recursive: true });
    const dir = await mkdtemp(join(SCRATCH, 'disk-probe-'));
    try {
      const probe = startDiskProbe(dir);
      const file = await open(join(dir, 'written'), 'w');
      const bytes = 64 * 1024 * 1024; // tens of milliseconds of writing: busy for more than a tick at any HZ
      await file.write(Buffer.alloc(bytes, 1));
      await file.sync();
      await file.close();
      const spent = probe();
      expect(spent?.device).toMatch(/^[a-z]/);
      expect(spent!.bytesWritten).toBeGreaterThanOrEqual(bytes);
      expect(spent!.busySeconds).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells nothing for a path with no device to read', () => {
    expect(startDiskProbe('/no/such/folder')()).toBeUndefined();
  });
});
