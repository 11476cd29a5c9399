import { describe, expect, it } from 'vitest';
import { PendingAborts, type MultipartUpload } from '@takhin/core';

/** A server whose abort endpoint can be switched off, recording what it aborted. */
function flakyServer() {
  const server = {
    reachable: true,
    aborted: [] as string[],
    abort: async (upload: MultipartUpload) => {
      if (!server.reachable) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      server.aborted.push(`${upload.name}#${upload.id}`);
    },
  };
  return server;
}

const upload = (name: string, id: string): MultipartUpload => ({ key: name, name, id });

describe('PendingAborts', () => {
  it('aborts at once when the server answers, remembering nothing', async () => {
    const server = flakyServer();
    const pending = new PendingAborts(server.abort);
    await pending.abort(upload('segments/a.log', 'u1'));
    expect(server.aborted).toEqual(['segments/a.log#u1']);
    expect(pending.size).toBe(0);
  });

  it('remembers an abort the server could not take and finishes it on retry', async () => {
    const server = flakyServer();
    const pending = new PendingAborts(server.abort);
    server.reachable = false;
    await pending.abort(upload('segments/a.log', 'u1'));
    await pending.abort(upload('segments/b.log', 'u2'));
    expect(pending.size).toBe(2);
    expect(await pending.retry()).toBe(0);
    expect(pending.size).toBe(2);

    server.reachable = true;
    expect(await pending.retry()).toBe(2);
    expect(server.aborted).toEqual(['segments/a.log#u1', 'segments/b.log#u2']);
    expect(pending.size).toBe(0);
  });
});
