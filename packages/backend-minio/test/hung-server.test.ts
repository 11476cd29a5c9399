import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColdStoreError, TransferPool } from '@takhin/core';
import { provider } from '@takhin/backend-minio';

/** A TCP listener on loopback that accepts every connection, takes what it is sent, and never answers a byte. */
async function startHungServer(): Promise<{ port: number; accepted: Socket[]; close(): Promise<void> }> {
  const accepted: Socket[] = [];
  const server: Server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
    socket.resume(); // read and dropped, so the client's end of the connection is seen
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of accepted) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('TransferPool.close() with an upload to a server that accepted the connection and never answers', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startHungServer>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'takhin-hung-'));
    server = await startHungServer();
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('aborts it (and the upload queued behind it) after the grace, each ABORTED saying the pool closed, and closes in bounded time', async () => {
    // The MinIO backend waits 30 s for a silent server, four attempts: close() used to wait all that.
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 2_000 });
    const target = { module: provider.module!, config: { endpoint: `http://127.0.0.1:${server.port}`, accessKey: 'hung', secretKey: 'hung-secret', bucket: 'segments' } };
    await writeFile(join(dir, 'segment.log'), Buffer.alloc(4096, 7));
    const hung = pool.uploadFile(join(dir, 'segment.log'), 'hung/segment.log', target).catch((e: unknown) => e);
    const queued = pool.uploadFile(join(dir, 'segment.log'), 'queued/segment.log', target).catch((e: unknown) => e);
    for (let waited = 0; server.accepted.length === 0; waited += 10) {
      if (waited >= 20_000) throw new Error('the upload never connected to the hung server');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const started = performance.now();
    await pool.close({ graceMs: 300 });
    const elapsed = performance.now() - started;
    for (const [key, error] of [['hung/segment.log', await hung], ['queued/segment.log', await queued]] as const) {
      expect(error, key).toBeInstanceOf(ColdStoreError);
      expect(error, key).toMatchObject({
        code: 'ABORTED',
        backend: 'transfer-pool',
        key,
        message: `transfer-pool: operation aborted for "${key}": the TransferPool was closed and the task was still pending 300 ms later (its close grace)`,
      });
    }
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // The grace, the abort (or, ignored, its 2 s grace before the thread is terminated), the release.
    expect(elapsed).toBeLessThan(15_000);
    expect(pool.threads).toBe(0);
    // The upload's connection was given up, not left open on the server.
    for (let waited = 0; server.accepted.some((socket) => !socket.readableEnded && !socket.destroyed); waited += 10) {
      if (waited >= 5_000) throw new Error('a connection to the hung server is still open');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});
