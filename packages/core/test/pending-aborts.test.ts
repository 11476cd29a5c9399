import { describe, expect, it } from 'vitest';
import { PendingAborts } from '@takhin/core';

/** A server whose abort endpoint can be switched off, recording what it aborted. */
function flakyServer() {
  const server = {
    reachable: true,
    gone: new Set<string>(),
    aborted: [] as string[],
    abort: async (fullKey: string, uploadId: string) => {
      if (!server.reachable) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (server.gone.has(uploadId)) throw Object.assign(new Error('gone'), { name: 'NoSuchUpload' });
      server.aborted.push(`${fullKey}#${uploadId}`);
    },
    isGone: (error: unknown) => (error as Error).name === 'NoSuchUpload',
  };
  return server;
}

describe('PendingAborts', () => {
  it('aborts at once when the server answers, remembering nothing', async () => {
    const server = flakyServer();
    const pending = new PendingAborts(server);
    await pending.abort('segments/a.log', 'u1');
    expect(server.aborted).toEqual(['segments/a.log#u1']);
    expect(pending.size).toBe(0);
  });

  it('remembers an abort the server could not take and finishes it on retry', async () => {
    const server = flakyServer();
    const pending = new PendingAborts(server);
    server.reachable = false;
    await pending.abort('segments/a.log', 'u1');
    await pending.abort('segments/b.log', 'u2');
    expect(pending.size).toBe(2);
    expect(await pending.retry()).toBe(0);
    expect(pending.size).toBe(2);

    server.reachable = true;
    expect(await pending.retry()).toBe(2);
    expect(server.aborted).toEqual(['segments/a.log#u1', 'segments/b.log#u2']);
    expect(pending.size).toBe(0);
  });

  it('forgets an upload the server says is gone already', async () => {
    const server = flakyServer();
    const pending = new PendingAborts(server);
    server.reachable = false;
    await pending.abort('segments/a.log', 'u1');
    server.reachable = true;
    server.gone.add('u1');
    expect(await pending.retry()).toBe(1);
    expect(pending.size).toBe(0);
    expect(server.aborted).toEqual([]);
  });
});
