import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@takhin/core';
import { ConsoleServer, checkConsoleToken, parseListenAddress, requireBoundLoopback, requireTokenBeyondLoopback } from '@takhin/console';
import { send, snapshot, startConsoleFixture, type ConsoleFixture, type RawRequest } from './console-fixture.js';

const TOKEN = 's3cret-console-token';

describe('console.token', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture({ token: TOKEN });
  });
  afterAll(async () => {
    await fx?.close();
  });

  const endpoints = (): { name: string; path: string; request?: RawRequest }[] => {
    const body = (path: string): RawRequest => ({ method: 'POST', body: JSON.stringify({ segment_path: path }), headers: { 'Content-Type': 'application/json' } });
    return [
      { name: 'stats', path: '/api/v1/tiered/stats' },
      { name: 'segment list', path: '/api/v1/tiered/segments' },
      { name: 'one segment', path: `/api/v1/tiered/segments/${encodeURIComponent(fx.orders[0]!.path)}` },
      { name: 'plan', path: '/api/v1/tiered/plan' },
      { name: 'metrics', path: '/metrics' },
      { name: 'archive', path: '/api/v1/tiered/archive', request: body(fx.orders[1]!.path) },
      { name: 'restore', path: '/api/v1/tiered/restore', request: body(fx.orders[0]!.path) },
      { name: 'evict', path: '/api/v1/tiered/evict', request: body(fx.orders[0]!.path) },
      { name: 'cycle', path: '/api/v1/tiered/cycle', request: { method: 'POST' } },
      { name: 'an unknown endpoint (no route is revealed)', path: '/api/v1/tiered/secret' },
      { name: 'a traversal (refused before any check of the path)', path: '/api/v1/tiered/segments/..%2F..%2Fetc%2Fpasswd' },
    ];
  };

  const badCredentials: { name: string; headers: Record<string, string> }[] = [
    { name: 'no Authorization header', headers: {} },
    { name: 'a wrong token', headers: { Authorization: 'Bearer not-the-token' } },
    { name: 'the token with one character more', headers: { Authorization: `Bearer ${TOKEN}x` } },
    { name: 'a prefix of the token', headers: { Authorization: `Bearer ${TOKEN.slice(0, -1)}` } },
    { name: 'the token in another case', headers: { Authorization: `Bearer ${TOKEN.toUpperCase()}` } },
    { name: 'Basic credentials with another password', headers: { Authorization: `Basic ${Buffer.from(`${TOKEN}:admin`).toString('base64')}` } },
    { name: 'Basic credentials without a colon', headers: { Authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` } },
    { name: 'the bare token', headers: { Authorization: TOKEN } },
    { name: 'an empty bearer', headers: { Authorization: 'Bearer ' } },
  ];

  it('every endpoint but /healthz answers 401 with JSON to every bad credential, and nothing changes', async () => {
    for (const endpoint of endpoints()) {
      for (const credential of badCredentials) {
        const before = await snapshot(fx);
        const request = endpoint.request ?? {};
        const response = await send(fx.port, endpoint.path, { ...request, headers: { ...request.headers, ...credential.headers } });
        const label = `${endpoint.name} with ${credential.name}`;
        expect(response.status, label).toBe(401);
        expect(response.json, label).toEqual({ error: 'UNAUTHORIZED', message: expect.any(String) });
        expect(response.headers['www-authenticate'], label).toBe('Bearer realm="takhin-tiered"');
        expect(await snapshot(fx), label).toEqual(before);
      }
    }
  });

  it('with the token, every endpoint answers', async () => {
    const statuses: Record<string, number> = {};
    for (const endpoint of endpoints()) {
      const request = endpoint.request ?? {};
      const response = await send(fx.port, endpoint.path, { ...request, headers: { ...request.headers, Authorization: `Bearer ${TOKEN}` } });
      statuses[endpoint.name] = response.status;
    }
    expect(statuses).toEqual({
      stats: 200,
      'segment list': 200,
      'one segment': 200,
      plan: 200,
      metrics: 200,
      archive: 200,
      restore: 200,
      evict: 200,
      cycle: 200,
      'an unknown endpoint (no route is revealed)': 404,
      'a traversal (refused before any check of the path)': 400,
    });
    expect(fx.tiered.getSegment(fx.orders[1]!.path).policy).toBe('cold');
  });

  it('/healthz needs no token; the dashboard files need it too, asked for by a Basic challenge a browser answers', async () => {
    expect((await send(fx.port, '/healthz')).status).toBe(200);
    for (const path of ['/', '/dashboard/app.js']) {
      const refused = await send(fx.port, path);
      expect(refused.status, path).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Basic realm="takhin-tiered"/);
      expect(refused.text).not.toContain('<html');
      const wrong = await send(fx.port, path, { headers: { Authorization: `Basic ${Buffer.from('operator:guess').toString('base64')}` } });
      expect(wrong.status, path).toBe(401);
    }
    const basic = await send(fx.port, '/', { headers: { Authorization: `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(200);
    expect(basic.headers['content-security-policy']).toContain("script-src 'self'");
    expect(basic.text).not.toContain(TOKEN);
    expect((await send(fx.port, '/dashboard/app.js', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // The same Basic credentials open the API, as the dashboard's own requests need.
    expect((await send(fx.port, '/api/v1/tiered/stats', { headers: { Authorization: `Basic ${Buffer.from(`any:${TOKEN}`).toString('base64')}` } })).status).toBe(200);
  });
});

describe('console.token values', () => {
  it('refuses a token that "Authorization: Bearer" cannot carry, naming the key but not the token', () => {
    // The bearer token is one run of non-space characters, and Node reads header bytes as latin1.
    for (const token of ['two words', 'pässwörd', 'tab\tseparated', 'line\nbreak', '\u007f', 'ünïcode-only']) {
      expect(() => new ConsoleServer({ token }), JSON.stringify(token)).toThrow(ConfigError);
      expect(() => checkConsoleToken(token), JSON.stringify(token)).toThrow(/"console\.token": must be visible ASCII without spaces/);
      try {
        checkConsoleToken(token);
      } catch (error) {
        expect((error as Error).message).not.toContain(token);
      }
    }
    for (const token of [undefined, TOKEN, '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', 'A'.repeat(512)]) expect(() => checkConsoleToken(token)).not.toThrow();
  });
});

describe('console.listen', () => {
  it('parses host:port and [v6]:port, and knows loopback from the rest', () => {
    expect(parseListenAddress('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080, loopback: true });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0, loopback: true });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000, loopback: true });
    expect(parseListenAddress('0.0.0.0:8080').loopback).toBe(false);
    expect(parseListenAddress('[::]:8080').loopback).toBe(false);
    expect(parseListenAddress('10.1.2.3:8080').loopback).toBe(false);
    expect(parseListenAddress('console.example.com:8080').loopback).toBe(false);
  });

  it('refuses what is not host:port, naming console.listen', () => {
    for (const listen of [':8080', '8080', '127.0.0.1', '127.0.0.1:99999', '[127.0.0.1]:80', 'a b:80', 'http://127.0.0.1:80']) {
      expect(() => parseListenAddress(listen), listen).toThrow(ConfigError);
      expect(() => parseListenAddress(listen), listen).toThrow(/console\.listen/);
    }
  });

  it('refuses to listen beyond loopback without a token, before binding anything', async () => {
    expect(() => requireTokenBeyondLoopback(parseListenAddress('0.0.0.0:8080'), undefined)).toThrow(/console\.token.*is required to listen on 0\.0\.0\.0/);
    expect(() => requireTokenBeyondLoopback(parseListenAddress('0.0.0.0:8080'), 'token')).not.toThrow();
    expect(() => requireTokenBeyondLoopback(parseListenAddress('127.0.0.1:8080'), undefined)).not.toThrow();
    const server = new ConsoleServer({ token: undefined });
    await expect(server.listen(parseListenAddress('0.0.0.0:0'))).rejects.toThrow(ConfigError);
    expect(() => server.url).toThrow(/not listening/);
  });

  it('refuses a loopback name that the resolver bound beyond loopback, unless a token is set', async () => {
    const address = parseListenAddress('console.localhost:8080');
    expect(address.loopback).toBe(true);
    expect(() => requireBoundLoopback(address, '10.1.2.3', undefined)).toThrow(/console\.token.*console\.localhost resolved to 10\.1\.2\.3, which is not a loopback address/);
    expect(() => requireBoundLoopback(address, '10.1.2.3', 'token')).not.toThrow();
    for (const ip of ['127.0.0.1', '127.0.1.1', '::1', '::ffff:127.0.0.1']) expect(() => requireBoundLoopback(address, ip, undefined), ip).not.toThrow();
    // What the server binds for localhost here is checked the same way, and it is loopback.
    const server = new ConsoleServer({ token: undefined });
    try {
      expect(await server.listen(parseListenAddress('localhost:0'))).toMatch(/^http:\/\/localhost:\d+$/);
    } finally {
      await server.close();
    }
  });
});
