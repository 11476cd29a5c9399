import { connect, type Socket } from 'node:net';
import { MAX_CONNECTIONS } from '@takhin/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, snapshot, startConsoleFixture, type ConsoleFixture, type RawRequest } from './console-fixture.js';

interface Rejection {
  readonly name: string;
  readonly path: string;
  readonly request?: RawRequest;
  readonly status: number;
  readonly error: string;
}

const json = (body: string, headers: Record<string, string> = {}): RawRequest => ({ method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
const segmentBody = (segmentPath: unknown) => json(JSON.stringify({ segment_path: segmentPath }));
const SEGMENT = '/api/v1/tiered/segments/';

// Every refusal is JSON `{ error, message }` with the right status, and changes nothing: the
// model's records and stats, and every file in the data dir and the cold store, are compared
// before and after each one.
describe('rejected requests change nothing', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  const cases = (): Rejection[] => {
    const closed = fx.orders[1]!.path;
    return [
      // segment paths in the URL
      { name: 'a raw ../ traversal in the URL', path: `${SEGMENT}../../etc/passwd`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'an encoded ../ traversal in the URL', path: `${SEGMENT}..%2F..%2Fetc%2Fpasswd`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'a traversal hidden inside a valid-looking path', path: `${SEGMENT}orders-0%2F..%2F..%2Fsecrets%2F00000000000000000000.log`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'an absolute path in the URL', path: `${SEGMENT}%2Fetc%2Fpasswd`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'an absolute path as raw segments', path: `${SEGMENT}/tmp/orders-0/00000000000000000000.log`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'a NUL in the URL', path: `${SEGMENT}${encodeURIComponent(closed)}%00`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'a backslash in the URL', path: `${SEGMENT}orders-0%5C00000000000000000000.log`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'another extension', path: `${SEGMENT}orders-0%2F00000000000000000000.index`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'double encoding is decoded once only', path: `${SEGMENT}%252e%252e%252fetc`, status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'malformed percent-encoding', path: `${SEGMENT}orders-0%2F%E0%A4%A`, status: 400, error: 'INVALID_URL' },
      { name: 'an unknown segment', path: `${SEGMENT}orders-0%2F00000000000000999999.log`, status: 404, error: 'UNKNOWN_SEGMENT' },
      { name: 'an unknown partition', path: `${SEGMENT}orders-7%2F00000000000000000000.log`, status: 404, error: 'UNKNOWN_SEGMENT' },
      // segment paths in bodies
      { name: 'archive with ..', path: '/api/v1/tiered/archive', request: segmentBody('orders-0/../../../etc/passwd'), status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'archive with an absolute path', path: '/api/v1/tiered/archive', request: segmentBody(`/${closed}`), status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'archive with a NUL', path: '/api/v1/tiered/archive', request: segmentBody(`${closed}\u0000`), status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'archive with an empty path', path: '/api/v1/tiered/archive', request: segmentBody(''), status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'archive of an unknown segment', path: '/api/v1/tiered/archive', request: segmentBody('orders-0/00000000000000999999.log'), status: 404, error: 'UNKNOWN_SEGMENT' },
      { name: 'restore with ..', path: '/api/v1/tiered/restore', request: segmentBody('../data/orders-0/00000000000000000000.log'), status: 400, error: 'INVALID_SEGMENT_PATH' },
      { name: 'restore of an unknown segment', path: '/api/v1/tiered/restore', request: segmentBody('payments-9/00000000000000000000.log'), status: 404, error: 'UNKNOWN_SEGMENT' },
      { name: 'evict with an absolute path', path: '/api/v1/tiered/evict', request: segmentBody('/etc/passwd'), status: 400, error: 'INVALID_SEGMENT_PATH' },
      // bodies
      { name: 'malformed JSON', path: '/api/v1/tiered/archive', request: json(`{"segment_path": "${closed}"`), status: 400, error: 'INVALID_JSON' },
      { name: 'a body that is not UTF-8', path: '/api/v1/tiered/archive', request: { method: 'POST', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: { 'Content-Type': 'application/json' } }, status: 400, error: 'INVALID_JSON' },
      { name: 'a JSON array', path: '/api/v1/tiered/archive', request: json(JSON.stringify([closed])), status: 400, error: 'INVALID_BODY' },
      { name: 'a JSON string', path: '/api/v1/tiered/archive', request: json(JSON.stringify(closed)), status: 400, error: 'INVALID_BODY' },
      { name: 'an extra field', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segment_path: closed, force: true })), status: 400, error: 'INVALID_BODY' },
      { name: 'a misspelt field', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segmentPath: closed })), status: 400, error: 'INVALID_BODY' },
      { name: 'no segment_path', path: '/api/v1/tiered/archive', request: json('{}'), status: 400, error: 'INVALID_BODY' },
      { name: 'an empty body', path: '/api/v1/tiered/restore', request: { method: 'POST' }, status: 400, error: 'INVALID_BODY' },
      { name: 'a segment_path that is not a string', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segment_path: 42 })), status: 400, error: 'INVALID_BODY' },
      { name: 'a field given twice (JSON keeps only the last)', path: '/api/v1/tiered/archive', request: json(`{"segment_path": "../../etc/passwd", "segment_path": "${closed}"}`), status: 400, error: 'INVALID_BODY' },
      { name: 'a segment_path of 2000 characters', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segment_path: 'a'.repeat(2000) })), status: 400, error: 'INVALID_BODY' },
      { name: 'a cycle with a field', path: '/api/v1/tiered/cycle', request: json('{"dry_run": true}'), status: 400, error: 'INVALID_BODY' },
      { name: 'text/plain', path: '/api/v1/tiered/archive', request: { method: 'POST', body: JSON.stringify({ segment_path: closed }), headers: { 'Content-Type': 'text/plain' } }, status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a form post', path: '/api/v1/tiered/archive', request: { method: 'POST', body: `segment_path=${closed}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'no Content-Type', path: '/api/v1/tiered/archive', request: { method: 'POST', body: JSON.stringify({ segment_path: closed }) }, status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'JSON in another charset', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segment_path: closed }), { 'Content-Type': 'application/json; charset=utf-16' }), status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a declared oversized body', path: '/api/v1/tiered/archive', request: json(JSON.stringify({ segment_path: closed, pad: 'x'.repeat(10_000) })), status: 413, error: 'PAYLOAD_TOO_LARGE' },
      {
        name: 'an oversized chunked body',
        path: '/api/v1/tiered/archive',
        request: { method: 'POST', body: JSON.stringify({ segment_path: closed, pad: 'x'.repeat(10_000) }), headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } },
        status: 413,
        error: 'PAYLOAD_TOO_LARGE',
      },
      // query parameters
      { name: 'an unknown query parameter', path: '/api/v1/tiered/segments?polcy=cold', status: 400, error: 'INVALID_QUERY' },
      { name: 'an unknown policy', path: '/api/v1/tiered/segments?policy=lukewarm', status: 400, error: 'INVALID_QUERY' },
      { name: 'archived=yes', path: '/api/v1/tiered/segments?archived=yes', status: 400, error: 'INVALID_QUERY' },
      { name: 'limit=0', path: '/api/v1/tiered/segments?limit=0', status: 400, error: 'INVALID_QUERY' },
      { name: 'limit over the maximum', path: '/api/v1/tiered/segments?limit=100000', status: 400, error: 'INVALID_QUERY' },
      { name: 'limit=abc', path: '/api/v1/tiered/segments?limit=abc', status: 400, error: 'INVALID_QUERY' },
      { name: 'a negative partition', path: '/api/v1/tiered/segments?partition=-1', status: 400, error: 'INVALID_QUERY' },
      { name: 'a topic with a slash', path: '/api/v1/tiered/segments?topic=..%2Fetc', status: 400, error: 'INVALID_QUERY' },
      { name: 'a parameter given twice', path: '/api/v1/tiered/segments?limit=1&limit=2', status: 400, error: 'INVALID_QUERY' },
      { name: 'a query on a segment', path: `${SEGMENT}${encodeURIComponent(closed)}?verbose=true`, status: 400, error: 'INVALID_QUERY' },
      { name: 'a query on stats', path: '/api/v1/tiered/stats?verbose=true', status: 400, error: 'INVALID_QUERY' },
      { name: 'a query on archive', path: `/api/v1/tiered/archive?segment_path=${encodeURIComponent(closed)}`, request: segmentBody(closed), status: 400, error: 'INVALID_QUERY' },
      { name: 'plan with changes_only=1', path: '/api/v1/tiered/plan?changes_only=1', status: 400, error: 'INVALID_QUERY' },
      // pagination cursors
      { name: 'a cursor that is not a segment path', path: '/api/v1/tiered/segments?cursor=bm90LWEtY3Vyc29y', status: 400, error: 'INVALID_CURSOR' },
      { name: 'a traversal as a cursor', path: '/api/v1/tiered/segments?cursor=..%2F..%2Fetc%2Fpasswd', status: 400, error: 'INVALID_CURSOR' },
      // routes, methods, hosts
      { name: 'an unknown endpoint', path: '/api/v1/tiered/delete', request: segmentBody(closed), status: 404, error: 'NOT_FOUND' },
      { name: 'a path-normalised route', path: '/api/v1/tiered/x/../archive', request: segmentBody(closed), status: 404, error: 'NOT_FOUND' },
      { name: 'GET on archive', path: '/api/v1/tiered/archive', status: 405, error: 'METHOD_NOT_ALLOWED' },
      { name: 'DELETE on a segment', path: `${SEGMENT}${encodeURIComponent(closed)}`, request: { method: 'DELETE' }, status: 405, error: 'METHOD_NOT_ALLOWED' },
      { name: 'PUT on stats', path: '/api/v1/tiered/stats', request: { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/json' } }, status: 405, error: 'METHOD_NOT_ALLOWED' },
      { name: 'POST on the dashboard page', path: '/', request: { method: 'POST' }, status: 405, error: 'METHOD_NOT_ALLOWED' },
      { name: 'POST on a dashboard script', path: '/dashboard/app.js', request: segmentBody(closed), status: 405, error: 'METHOD_NOT_ALLOWED' },
      { name: 'a foreign Host (DNS rebinding)', path: '/api/v1/tiered/archive', request: { ...segmentBody(closed), host: 'attacker.example:8080' }, status: 421, error: 'MISDIRECTED_REQUEST' },
    ];
  };

  it('has one case per rejected input, each with a distinct name', () => {
    const names = cases().map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(50);
  });

  it('refuses each one with its status and a JSON { error, message }, and nothing changes', async () => {
    for (const rejection of cases()) {
      const before = await snapshot(fx);
      const response = await send(fx.port, rejection.path, rejection.request);
      expect({ name: rejection.name, status: response.status, error: response.json?.error }).toEqual({ name: rejection.name, status: rejection.status, error: rejection.error });
      expect(Object.keys(response.json).sort(), rejection.name).toEqual(['error', 'message']);
      expect(response.json.message, rejection.name).toEqual(expect.any(String));
      expect(response.headers['content-type'], rejection.name).toBe('application/json; charset=utf-8');
      expect(await snapshot(fx), rejection.name).toEqual(before);
    }
    expect(fx.logged).toEqual([]);
  });

  it('a wrong method on a dashboard file says which methods it takes, as the API routes do', async () => {
    for (const path of ['/', '/dashboard/app.js', '/dashboard/style.css']) {
      const response = await send(fx.port, path, { method: 'POST' });
      expect(response.status, path).toBe(405);
      expect(response.headers.allow, path).toBe('GET, HEAD');
      expect(response.json.message, path).toBe(`POST is not allowed on ${path}; use GET or HEAD`);
    }
    expect((await send(fx.port, '/api/v1/tiered/stats', { method: 'POST' })).headers.allow).toBe('GET, HEAD');
  });

  it('a request without a Host header is a 400 with a JSON body saying so, not a bare one', async () => {
    const before = await snapshot(fx);
    for (const version of ['1.1', '1.0']) {
      const answer = await sendRaw(fx.port, `POST /api/v1/tiered/cycle HTTP/${version}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      expect(answer.head, version).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer.head.toLowerCase(), version).toContain('content-type: application/json; charset=utf-8');
      expect(JSON.parse(answer.body), version).toEqual({ error: 'MISSING_HOST', message: expect.stringContaining('no Host header') });
    }
    const get = await sendRaw(fx.port, 'GET /api/v1/tiered/stats HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(JSON.parse(get.body).error).toBe('MISSING_HOST');
    expect(await snapshot(fx)).toEqual(before);
    // A foreign Host is still told apart from a missing one.
    expect((await sendRaw(fx.port, 'GET /api/v1/tiered/stats HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n')).head).toMatch(/^HTTP\/1\.1 421 /);
  });

  it('a malformed request says what was wrong: headers too large, a bad Content-Length, no HTTP at all', async () => {
    const before = await snapshot(fx);
    const big = await sendRaw(fx.port, `GET /api/v1/tiered/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(big.body)).toEqual({ error: 'HEADERS_TOO_LARGE', message: expect.stringContaining('16384 bytes') });
    const length = await sendRaw(fx.port, 'POST /api/v1/tiered/cycle HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1x\r\n\r\n{}');
    expect(length.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(length.body)).toEqual({ error: 'MALFORMED_REQUEST', message: expect.stringContaining('Content-Length') });
    const garbage = await sendRaw(fx.port, 'HELLO\r\n\r\n');
    expect(garbage.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.body).error).toBe('MALFORMED_REQUEST');
    expect(await snapshot(fx)).toEqual(before);
  });

  it('a client that stops half-way through its body is told so, changes nothing and is not logged as a failure', async () => {
    const before = await snapshot(fx);
    const head = 'POST /api/v1/tiered/archive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n';
    // The client ends its side after part of the body, and reads the answer until the server closes.
    const answer = await sendRaw(fx.port, `${head}{"segment_path": "${fx.orders[1]!.path}`);
    expect(answer.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.body)).toEqual({ error: 'MALFORMED_REQUEST', message: expect.stringContaining('before the whole request') });
    // A full round trip after the close: by then the server has seen the connection end.
    expect((await send(fx.port, '/api/v1/tiered/stats')).status).toBe(200);
    expect(fx.logged).toEqual([]);
    expect(await snapshot(fx)).toEqual(before);
  });

  it('a request beyond the connections the console serves at once is answered 503 BUSY, not reset', async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const socket = connect(fx.port, '127.0.0.1');
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        idle.push(socket);
      }
      const before = await snapshot(fx);
      // On a new connection (a keep-alive one opened earlier would still be served).
      const body = JSON.stringify({ segment_path: fx.orders[2]!.path });
      const busy = await sendRaw(fx.port, `POST /api/v1/tiered/archive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      expect(busy.head).toMatch(/^HTTP\/1\.1 503 /);
      expect(busy.head).toMatch(/\r\nRetry-After: 1\r\n/i);
      expect(JSON.parse(busy.body)).toEqual({ error: 'BUSY', message: expect.stringContaining(`${MAX_CONNECTIONS} connections`) });
      expect(await snapshot(fx)).toEqual(before);
    } finally {
      for (const socket of idle) socket.destroy();
    }
    await expect.poll(async () => (await send(fx.port, '/api/v1/tiered/stats')).status).toBe(200);
    expect(fx.logged).toEqual([]);
  });

  it('a body refused before it was read closes the connection (its bytes are never parsed as a next request)', async () => {
    const response = await send(fx.port, '/api/v1/tiered/archive', json(JSON.stringify({ segment_path: fx.orders[1]!.path, pad: 'x'.repeat(10_000) })));
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    const unsupported = await send(fx.port, '/api/v1/tiered/archive', { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    expect(unsupported.status).toBe(415);
    expect(unsupported.headers.connection).toBe('close');
  });

  it('a refused request does not stop the next one on the same connection from working', async () => {
    const response = await send(fx.port, `${SEGMENT}${encodeURIComponent(fx.orders[1]!.path)}`);
    expect(response.status).toBe(200);
    expect(response.json.policy).not.toBe('cold');
  });
});

/** Writes `request` byte for byte on a new connection and reads the answer until the server closes it. */
function sendRaw(port: number, request: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    // Half-closed after the request: the server still answers, then closes.
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve(split < 0 ? { head: text, body: '' } : { head: text.slice(0, split), body: text.slice(split + 4) });
    });
  });
}
