import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_STEPS, EVICT_STEPS, RESTORE_STEPS } from '@takhin/core';
import { requireServiceEnv } from '@takhin/testkit';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { prepareRun, restartAndVerify, runChild, type Crash } from './fixtures/crash-harness.js';

/** Steps reported once per file: also crash at the second, between two files of a segment. */
const PER_FILE = new Set(['archive:file-uploaded', 'archive:local-file-deleted', 'restore:file-downloaded', 'restore:file-renamed', 'evict:local-file-deleted']);
const CRASH_POINTS = [...ARCHIVE_STEPS, ...RESTORE_STEPS, ...EVICT_STEPS].flatMap((step) =>
  PER_FILE.has(step) ? [{ step, occurrence: 1 }, { step, occurrence: 2 }] : [{ step, occurrence: 1 }],
);
const RANDOM_RUNS = 6;

interface Backend {
  name: string;
  section: (run: number) => Record<string, unknown>;
  setup?: () => Promise<void>;
}

const minioBucket = 'takhin-crash-tests';
const backends: Backend[] = [
  { name: 'fs', section: () => ({}) },
  {
    name: 'minio (s3 backend)',
    section: (run) => {
      const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ENDPOINT', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
      return {
        backend: 's3',
        s3: {
          bucket: minioBucket,
          region: env.TAKHIN_MINIO_REGION,
          endpoint: env.TAKHIN_MINIO_ENDPOINT,
          forcePathStyle: true,
          accessKeyId: env.TAKHIN_MINIO_ACCESS_KEY,
          secretAccessKey: env.TAKHIN_MINIO_SECRET_KEY,
          prefix: `crash-${process.pid}-${run}`,
        },
      };
    },
    async setup() {
      const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ENDPOINT', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
      const client = new S3Client({
        region: env.TAKHIN_MINIO_REGION,
        endpoint: env.TAKHIN_MINIO_ENDPOINT,
        forcePathStyle: true,
        credentials: { accessKeyId: env.TAKHIN_MINIO_ACCESS_KEY, secretAccessKey: env.TAKHIN_MINIO_SECRET_KEY },
      });
      await client.send(new CreateBucketCommand({ Bucket: minioBucket })).catch((error: { name?: string }) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      });
      client.destroy();
    },
  },
];

for (const backend of backends) {
  describe(`crash reconciliation: ${backend.name}`, () => {
    let work: string;
    let runs = 0;
    let cleanRunMs = 2_000;
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'takhin-crash-'));
      await backend.setup?.();
    });
    afterAll(() => rm(work, { recursive: true, force: true }));

    /** A fresh data dir (and key prefix) in the three starting states, the child run, then restart and verify. */
    async function crashAndRecover(crash: Crash) {
      const run = runs++;
      const prepared = await prepareRun(join(work, `run-${run}`, 'data'), backend.section(run));
      const result = await runChild(prepared, crash);
      const verified = await restartAndVerify(prepared);
      return { ...result, ...verified };
    }

    it('a run without a crash archives, restores and evicts everything it is asked to', async () => {
      const result = await crashAndRecover({ never: true });
      expect(result.outcome).toBe('done');
      expect(result.repaired).toBe(0);
      cleanRunMs = result.ms;
    });

    for (const point of CRASH_POINTS) {
      it(`SIGKILL at ${point.step} (#${point.occurrence}): after a restart every segment is intact`, async () => {
        const result = await crashAndRecover(point);
        expect(result.outcome, `the run never reached ${point.step} #${point.occurrence}`).toBe('killed');
      });
    }

    it(`SIGKILL at ${RANDOM_RUNS} random moments: after each restart every segment is intact`, async () => {
      let killed = 0;
      for (let i = 0; i < RANDOM_RUNS; i++) {
        const result = await crashAndRecover({ afterMs: Math.round(Math.random() * cleanRunMs) });
        if (result.outcome === 'killed') killed++;
      }
      // A kill that always came too late would prove nothing.
      expect(killed).toBeGreaterThan(0);
    });
  });
}
