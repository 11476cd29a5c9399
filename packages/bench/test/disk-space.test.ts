import { describe, expect, it } from 'vitest';
import { diskShortfall, freeBytes, throughputDiskNeed } from '../dist/disk-space.js';

const GiB = 1024 ** 3;

describe('the disk a throughput run needs', () => {
  it('counts every upload an Azurite it does not restart keeps, and only where azure runs', () => {
    const shapes = [[1, 1024], [64, 16]] as const;
    const kept = { restartsAzurite: false };
    // The warm-up's and six a run, of both shapes (2 GiB), and the corpus and its downloads.
    expect(throughputDiskNeed(['fs', 'azure'], shapes, 3, kept).bytes).toBe((1 + 6 * 3) * 2 * GiB + 2 * 2 * GiB);
    expect(throughputDiskNeed(['fs', 's3', 'minio', 'gcs'], shapes, 5, kept).bytes).toBe(2 * 2 * GiB);
  });

  it('counts one run of the largest shape for an Azurite it restarts, empty, before every run', () => {
    const shapes = [[1, 1024], [64, 8]] as const;
    const need = throughputDiskNeed(['azure'], shapes, 5, { restartsAzurite: true });
    // The run's warm-up and six uploads of 1 GiB, and the corpus (1.5 GiB) and its downloads.
    expect(need.bytes).toBe(7 * GiB + 2 * 1.5 * GiB);
  });

  it('says, before anything runs, how much a run needs, where, and what is free', () => {
    const need = throughputDiskNeed(['azure'], [[1, 1024]], 3, { restartsAzurite: false });
    const message = diskShortfall(need, 9e9, '/repo/.services');
    expect(message).toMatch(/^the throughput runs need about 24\.8 GB free under \/repo\/\.services \(Azurite keeps deleted blobs' data .*: 20\.4 GB; .*\), and 9\.0 GB are: free some, or ask for fewer --runs/);
    expect(diskShortfall(need, 30e9, '/repo/.services')).toBeUndefined();
  });

  it('reads what is free on a real filesystem', () => {
    expect(freeBytes('.')).toBeGreaterThan(0);
  });
});
