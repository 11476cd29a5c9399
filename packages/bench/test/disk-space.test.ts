import { describe, expect, it } from 'vitest';
import { diskShortfall, freeBytes, throughputDiskNeed } from '../dist/disk-space.js';

const GiB = 1024 ** 3;

describe('the disk a throughput run needs', () => {
  it('counts every upload Azurite keeps, and only where azure runs', () => {
    const shapes = [[1, 1024], [64, 16]] as const;
    // The warm-up's and six a run, of both shapes (2 GiB), and the corpus and its downloads.
    expect(throughputDiskNeed(['fs', 'azure'], shapes, 3).bytes).toBe((1 + 6 * 3) * 2 * GiB + 2 * 2 * GiB);
    expect(throughputDiskNeed(['fs', 's3', 'minio', 'gcs'], shapes, 5).bytes).toBe(2 * 2 * GiB);
  });

  it('says, before anything runs, how much a run needs, where, and what is free', () => {
    const need = throughputDiskNeed(['azure'], [[1, 1024]], 3);
    const message = diskShortfall(need, 9e9, '/repo/.services');
    expect(message).toMatch(/^the throughput runs need about 24\.8 GB free under \/repo\/\.services \(Azurite keeps deleted blobs' data .*: 20\.4 GB; .*\), and 9\.0 GB are: free some, or ask for fewer --runs/);
    expect(diskShortfall(need, 30e9, '/repo/.services')).toBeUndefined();
  });

  it('reads what is free on a real filesystem', () => {
    expect(freeBytes('.')).toBeGreaterThan(0);
  });
});
