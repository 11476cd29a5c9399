import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSegment } from '@takhin/testkit/standalone';

/** Generated segment `.log` files under the OS temp folder; `remove()` deletes them all. */
export interface SegmentCorpus {
  dir: string;
  /** Each file's path and its segment path (`<topic>-<partition>/<base offset>.log`), the key's tail. */
  files: Array<{ path: string; segmentPath: string; bytes: number }>;
  totalBytes: number;
  remove(): Promise<void>;
}

const MiB = 1024 * 1024;
/** Record batches of 64 KiB: Kafka-sized batches, and few enough writes to generate 1 GiB fast. */
const RECORD_BYTES = 64 * 1024;

/** Writes `count` segments of about `mib` MiB each, one partition each, in parallel. */
export async function generateSegments(label: string, count: number, mib: number): Promise<SegmentCorpus> {
  const dir = await mkdtemp(join(tmpdir(), `takhin-bench-${label}-`));
  try {
    const segments = await Promise.all(
      Array.from({ length: count }, (_, partition) =>
        writeSegment(dir, { topic: `bench-${label}`, partition, baseOffset: 0n, logBytes: mib * MiB, recordBytes: RECORD_BYTES }),
      ),
    );
    const files = await Promise.all(
      segments.map(async (s) => ({ path: s.files.log, segmentPath: s.segmentPath, bytes: (await stat(s.files.log)).size })),
    );
    return { dir, files, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0), remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
