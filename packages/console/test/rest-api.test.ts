import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, postJson, snapshot, startConsoleFixture, type ConsoleFixture } from './console-fixture.js';

// Every endpoint of the REST API against a real server on a free port, a real data dir, SQLite
// and the FS cold store: what each answers, and what each operation did to the model.
describe('REST API endpoints', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('keeps the connection alive between bodiless requests (GET, HEAD, an empty POST body)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    const ask = (method: string, path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port: fx.port, method, path, agent, headers }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }));
        });
        request.on('socket', (socket) => sockets.add(socket));
        request.on('error', reject);
        request.end();
      });
    try {
      const answers = [
        await ask('GET', '/api/v1/tiered/stats'),
        await ask('HEAD', '/api/v1/tiered/segments'),
        await ask('GET', '/'),
        // An empty body (Content-Length: 0) is read to its end at once: refused, still nothing left unread.
        await ask('POST', '/api/v1/tiered/restore', { 'Content-Length': '0' }),
        await ask('GET', '/healthz'),
      ];
      expect(answers).toEqual([
        { status: 200, connection: 'keep-alive' },
        { status: 200, connection: 'keep-alive' },
        { status: 200, connection: 'keep-alive' },
        { status: 400, connection: 'keep-alive' },
        { status: 200, connection: 'keep-alive' },
      ]);
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('GET /healthz says ok', async () => {
    const response = await send(fx.port, '/healthz');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: 'ok' });
  });

  it("GET /api/v1/tiered/stats has the seed's fields, local and remote bytes, and bytes by tier", async () => {
    const response = await send(fx.port, '/api/v1/tiered/stats');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const stats = fx.tiered.getStats();
    expect(response.json).toMatchObject({
      total_segments: 6,
      hot_segments: stats.hotSegments,
      warm_segments: stats.warmSegments,
      cold_segments: 1,
      archived_segments: 1,
      total_size_bytes: stats.totalSizeBytes,
      local_bytes: stats.localBytes,
      remote_bytes: stats.remoteBytes,
    });
    const byTier = response.json.bytes_by_tier;
    expect(byTier.hot + byTier.warm).toBe(stats.localBytes);
    expect(byTier.cold).toBe(stats.remoteBytes);
    expect(response.json.reconciliation).toMatchObject({ archives_finished: 0, problems: [] });
  });

  it('GET /api/v1/tiered/segments/{segment_path} answers for the URL-encoded path and for the raw one', async () => {
    const path = fx.orders[0]!.path;
    const encoded = await send(fx.port, `/api/v1/tiered/segments/${encodeURIComponent(path)}`);
    const raw = await send(fx.port, `/api/v1/tiered/segments/${path}`);
    expect(encoded.status).toBe(200);
    expect(raw.status).toBe(200);
    expect(raw.json).toEqual(encoded.json);
    const record = fx.tiered.getSegment(path);
    expect(encoded.json).toMatchObject({
      segment_path: path,
      policy: 'cold',
      is_archived: true,
      topic: 'orders',
      partition: 0,
      // The fixture's partitions have no partition.metadata.
      topic_id: null,
      base_offset: 0,
      size: record.size,
      object_key: record.objectKey,
      archived_at: record.archivedAt,
      last_modified: record.lastModified,
      last_access_at: record.lastAccessAt,
      state: 'idle',
      version: record.version,
    });
    expect(encoded.json.files.log).toEqual({ size: record.files.log.size, checksums: record.files.log.checksums });
    expect(encoded.json.checksums).toEqual(record.checksums);
  });

  it('GET /api/v1/tiered/segments pages through every segment in order with the cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: Awaited<ReturnType<typeof send>> = await send(fx.port, `/api/v1/tiered/segments?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(response.status).toBe(200);
      expect(response.json.segments.length).toBeLessThanOrEqual(4);
      seen.push(...response.json.segments.map((s: { segment_path: string }) => s.segment_path));
      cursor = response.json.next_cursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual([...fx.orders, ...fx.payments].map((s) => s.path));
  });

  it('GET /api/v1/tiered/segments filters by topic, partition, policy and archived', async () => {
    const paths = async (query: string) => (await send(fx.port, `/api/v1/tiered/segments?${query}`)).json.segments.map((s: { segment_path: string }) => s.segment_path);
    expect(await paths('topic=payments')).toEqual(fx.payments.map((s) => s.path));
    expect(await paths('topic=orders&partition=0&limit=2')).toEqual(fx.orders.slice(0, 2).map((s) => s.path));
    expect(await paths('topic=payments&partition=0')).toEqual([]);
    expect(await paths('policy=cold')).toEqual([fx.orders[0]!.path]);
    expect(await paths('archived=true')).toEqual([fx.orders[0]!.path]);
    expect(await paths('archived=false&topic=orders')).toEqual(fx.orders.slice(1).map((s) => s.path));
  });

  it('GET /api/v1/tiered/plan lists what the next cycle would change, with rule and reason; changes_only=false lists all', async () => {
    const response = await send(fx.port, '/api/v1/tiered/plan');
    expect(response.status).toBe(200);
    const archive = response.json.items.filter((item: { action: string }) => item.action === 'archive').map((item: { segment_path: string }) => item.segment_path);
    expect(archive).toEqual([fx.orders[1]!.path, fx.orders[2]!.path]);
    expect(response.json.counts.archive).toBe(2);
    expect(response.json.items[0]).toMatchObject({ from: expect.any(String), to: 'cold', rule: expect.any(String), reason: expect.any(String) });
    const all = await send(fx.port, '/api/v1/tiered/plan?changes_only=false');
    expect(all.json.total).toBe(6);
    expect(all.json.items).toHaveLength(6);
  });

  it('POST /api/v1/tiered/archive archives a segment; again, it was already archived', async () => {
    const path = fx.orders[1]!.path;
    const response = await postJson(fx.port, '/api/v1/tiered/archive', { segment_path: path });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'success', outcome: 'archived', segment: { segment_path: path, policy: 'cold', is_archived: true } });
    expect(response.json.uploaded_bytes).toBeGreaterThan(0);
    expect(fx.tiered.getSegment(path)).toMatchObject({ policy: 'cold', isArchived: true });
    const again = await postJson(fx.port, '/api/v1/tiered/archive', { segment_path: path });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ outcome: 'already-archived', uploaded_bytes: 0 });
  });

  it('POST /api/v1/tiered/restore brings an archived segment back, hot and still archived', async () => {
    const path = fx.orders[0]!.path;
    const response = await postJson(fx.port, '/api/v1/tiered/restore', { segment_path: path });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'success', outcome: 'restored', segment: { policy: 'hot', is_archived: true } });
    expect(response.json.downloaded_bytes).toBeGreaterThan(0);
    expect(fx.tiered.getSegment(path).policy).toBe('hot');
    const again = await postJson(fx.port, '/api/v1/tiered/restore', { segment_path: path });
    expect(again.json.outcome).toBe('already-local');
  });

  it('POST /api/v1/tiered/evict deletes the local copy of an archived segment; one never archived is 409', async () => {
    const path = fx.orders[0]!.path;
    const response = await postJson(fx.port, '/api/v1/tiered/evict', { segment_path: path });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'success', outcome: 'evicted', segment: { policy: 'cold', is_archived: true } });
    const before = await snapshot(fx);
    const refused = await postJson(fx.port, '/api/v1/tiered/evict', { segment_path: fx.payments[0]!.path });
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({ error: 'NOT_ALLOWED', message: expect.stringMatching(/not archived|archived/) });
    expect(await snapshot(fx)).toEqual(before);
  });

  it('POST /api/v1/tiered/archive of the active segment is 409 NOT_ALLOWED and changes nothing', async () => {
    const before = await snapshot(fx);
    const response = await postJson(fx.port, '/api/v1/tiered/archive', { segment_path: fx.orders[3]!.path });
    expect(response.status).toBe(409);
    expect(response.json).toEqual({ error: 'NOT_ALLOWED', message: expect.stringContaining('active segment') });
    expect(await snapshot(fx)).toEqual(before);
  });

  it('POST /api/v1/tiered/cycle runs a cycle: the segment still due is archived', async () => {
    const response = await send(fx.port, '/api/v1/tiered/cycle', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ archived: 1, failed: 0 });
    expect(response.json.planned).toBeGreaterThanOrEqual(1);
    expect(fx.tiered.getSegment(fx.orders[2]!.path).policy).toBe('cold');
    const withEmptyObject = await postJson(fx.port, '/api/v1/tiered/cycle', {});
    expect(withEmptyObject.status).toBe(200);
    expect(withEmptyObject.json.archived).toBe(0);
  });

  it('GET /metrics serves Prometheus text from its own registry, counting what happened above', async () => {
    const response = await send(fx.port, '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const value = (series: string) => {
      const line = response.text.split('\n').find((l) => l.startsWith(`${series} `));
      expect(line, series).toBeDefined();
      return Number(line!.slice(series.length + 1));
    };
    const stats = fx.tiered.getStats();
    expect(value('tiered_storage_segments_total{policy="hot"}')).toBe(stats.hotSegments);
    expect(value('tiered_storage_segments_total{policy="warm"}')).toBe(stats.warmSegments);
    expect(value('tiered_storage_segments_total{policy="cold"}')).toBe(stats.coldSegments);
    expect(value('tiered_storage_archived_segments_total')).toBe(stats.archivedSegments);
    expect(value('tiered_storage_local_bytes')).toBe(stats.localBytes);
    expect(value('tiered_storage_remote_bytes')).toBe(stats.remoteBytes);
    // Since the server attached: orders[1] by the API, orders[2] by the cycle; the active segment refused.
    expect(value('tiered_storage_archive_operations_total{result="success"}')).toBe(2);
    expect(value('tiered_storage_archive_operations_total{result="failure"}')).toBe(1);
    expect(value('tiered_storage_restore_operations_total{result="success"}')).toBe(1);
    expect(value('tiered_storage_evict_operations_total{result="success"}')).toBe(1);
    expect(value('tiered_storage_evict_operations_total{result="failure"}')).toBe(1);
    expect(value('tiered_storage_operation_failures_total{operation="archive"}')).toBe(1);
    const uploaded = fx.tiered.getSegment(fx.orders[1]!.path).files;
    expect(value('tiered_storage_s3_bytes_uploaded')).toBeGreaterThanOrEqual(uploaded.log.size);
    expect(value('tiered_storage_s3_bytes_downloaded')).toBeGreaterThan(0);
    expect(value('tiered_storage_reconciliation_repairs{repair="archives_finished"}')).toBe(0);
    expect(response.text).toContain('tiered_storage_operation_duration_seconds_bucket{le="0.01",operation="archive"}');
    // Per-backend requests come from core's store-metrics layer, pool workers included.
    const puts = value('tiered_storage_backend_requests_total{backend="fs",operation="putObject"}');
    expect(puts).toBeGreaterThan(0);
    expect(value('tiered_storage_backend_request_duration_seconds_count{backend="fs",operation="putObject"}')).toBe(puts);
    expect(value('tiered_storage_backend_bytes_total{backend="fs",direction="up"}')).toBeGreaterThanOrEqual(uploaded.log.size);
  });

  it('pages on from a cursor whose segment is gone (a position, not a reference), and says which segments cannot be archived', async () => {
    const all = (await send(fx.port, '/api/v1/tiered/segments?limit=1000')).json.segments as { segment_path: string; archive_refusal: string | null; is_archived: boolean }[];
    // A cursor between two real segments of orders-0: the next page starts at the following one.
    const gone = 'orders-0/00000000000000000001.log';
    const page = await send(fx.port, `/api/v1/tiered/segments?cursor=${encodeURIComponent(gone)}&topic=orders&partition=0&limit=1`);
    expect(page.status).toBe(200);
    expect(page.json.segments[0].segment_path).toBe(all.filter((s) => s.segment_path.startsWith('orders-0/'))[1]!.segment_path);
    const active = all.find((s) => s.segment_path === fx.orders.at(-1)!.path)!;
    expect(active.archive_refusal).toMatch(/is the active segment/);
    expect(all.find((s) => s.segment_path === fx.payments[0]!.path)!.archive_refusal).toBeNull();
  });

  it('serves HEAD like GET without a body', async () => {
    const response = await send(fx.port, '/api/v1/tiered/stats', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });

  it('logged no unexpected error', () => {
    expect(fx.logged).toEqual([]);
  });
});
