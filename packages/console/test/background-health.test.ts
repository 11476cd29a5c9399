import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { provider as fsProvider } from '@takhin/backend-fs';
import { DATA_DIR_ID_FILE, createContainer, loadConfig, openTieredStorage, siblingOf, type TieredStorage } from '@takhin/core';
import { postJson, send, startConsoleFixture, type ConsoleFixture } from './console-fixture.js';

// What the background work is doing, told by the console itself rather than its log: whose the
// cold store's prefix is (docs/ARCHITECTURE.md, "The cold store's owner") and how the archiver's
// last cycle went, in GET /api/v1/tiered/stats and /metrics. The dashboard's side is in
// dashboard-browser.test.ts.

/** The value of an unlabelled (or exactly labelled) sample in Prometheus text. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

async function stats(fx: ConsoleFixture): Promise<any> {
  const response = await send(fx.port, '/api/v1/tiered/stats');
  expect(response.status).toBe(200);
  return response.json;
}

async function metrics(fx: ConsoleFixture): Promise<string> {
  const response = await send(fx.port, '/metrics');
  expect(response.status).toBe(200);
  return response.text;
}

describe('the console reports its background work', () => {
  let fx: ConsoleFixture | undefined;
  const others: TieredStorage[] = [];
  afterEach(async () => {
    await Promise.allSettled(others.splice(0).map((tiered) => tiered.close()));
    await fx?.close();
    fx = undefined;
  });

  it('says the prefix is owned and no cycle has run yet, in stats and in /metrics', async () => {
    fx = await startConsoleFixture();
    const body = await stats(fx);
    expect(body.cold_store).toEqual({ backend: 'fs', claim: 'owned', checked_at: expect.any(Number), owner: null, error: null });
    expect(body.cold_store.checked_at).toBeLessThanOrEqual(Date.now());
    expect(body.archiver).toEqual({ running: false, interval_ms: 60 * 60_000, last_cycle: null, last_success_at: null, last_failure_at: null });
    const text = await metrics(fx);
    expect(sample(text, 'tiered_storage_cold_store_owned')).toBe(1);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="owned"}')).toBe(1);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="claimed"}')).toBe(0);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="unchecked"}')).toBe(0);
    expect(sample(text, 'tiered_storage_cold_store_claim_checked_timestamp_seconds')).toBe(body.cold_store.checked_at / 1000);
    expect(sample(text, 'tiered_storage_archiver_last_success_timestamp_seconds')).toBe(0);
    expect(sample(text, 'tiered_storage_archiver_last_failure_timestamp_seconds')).toBe(0);
  });

  it('says when the cold store cannot be asked whose the prefix is, why, and that the last cycle failed; and again once it answers', async () => {
    fx = await startConsoleFixture();
    const coldRoot = join(siblingOf(fx.dataDir), 'cold');
    const due = [fx.orders[1]!.path, fx.orders[2]!.path];
    // The cold store's root gone and a file in its place: every request fails (ENOTDIR), as a store that does not answer.
    await rename(coldRoot, `${coldRoot}.away`);
    await writeFile(coldRoot, 'not a folder');
    const cycle = await postJson(fx.port, '/api/v1/tiered/cycle', {});
    expect(cycle.status).toBe(200);
    expect(cycle.json).toMatchObject({ planned: 2, archived: 0, failed: 2 });

    const down = await stats(fx);
    expect(down.cold_store).toMatchObject({ backend: 'fs', claim: 'unchecked', owner: null, error: { code: 'COLD_STORE_UNAVAILABLE', message: expect.stringContaining(`the store root ${coldRoot} is not a usable folder`) } });
    const last = down.archiver.last_cycle;
    expect(last).toMatchObject({ ok: false, report: { planned: 2, archived: 0, failed: 2 } });
    expect(last.finished_at).toBeGreaterThanOrEqual(last.started_at);
    expect(last.failure).toMatchObject({ operation: 'archive', code: 'COLD_STORE_UNAVAILABLE', retry_at: expect.any(Number) });
    expect(due).toContain(last.failure.segment_path);
    expect(last.failure.message).toContain('is not a usable folder');
    expect(down.archiver).toMatchObject({ last_success_at: null, last_failure_at: last.finished_at });
    let text = await metrics(fx);
    expect(sample(text, 'tiered_storage_cold_store_owned')).toBe(0);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="unchecked"}')).toBe(1);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="owned"}')).toBe(0);
    expect(sample(text, 'tiered_storage_archiver_last_failure_timestamp_seconds')).toBe(last.finished_at / 1000);
    expect(sample(text, 'tiered_storage_archiver_last_success_timestamp_seconds')).toBe(0);

    // Back: the next cycle's refresh finds the claim ours again (the failed archives wait out their backoff).
    await rm(coldRoot);
    await rename(`${coldRoot}.away`, coldRoot);
    expect((await postJson(fx.port, '/api/v1/tiered/cycle', {})).json).toMatchObject({ failed: 0, deferred: 2 });
    const up = await stats(fx);
    expect(up.cold_store).toMatchObject({ claim: 'owned', owner: null, error: null });
    expect(up.cold_store.checked_at).toBeGreaterThanOrEqual(last.finished_at);
    expect(up.archiver.last_cycle).toMatchObject({ ok: true, failure: null, report: { deferred: 2, failed: 0 } });
    expect(up.archiver).toMatchObject({ last_success_at: up.archiver.last_cycle.finished_at, last_failure_at: last.finished_at });
    text = await metrics(fx);
    expect(sample(text, 'tiered_storage_cold_store_owned')).toBe(1);
    expect(sample(text, 'tiered_storage_archiver_last_success_timestamp_seconds')).toBe(up.archiver.last_success_at / 1000);
  });

  it('tells an unexpected failure of a step by its code alone, as an endpoint does, and the step it was', async () => {
    let broken: string | undefined;
    fx = await startConsoleFixture({
      observer: (step, path) => {
        if (step === 'archive:file-uploaded' && path === broken) throw new Error('a bug, with /private/details');
      },
    });
    broken = fx.orders[1]!.path;
    const cycle = await postJson(fx.port, '/api/v1/tiered/cycle', {});
    expect(cycle.json).toMatchObject({ archived: 1, failed: 1 });
    const body = await stats(fx);
    expect(body.archiver.last_cycle).toMatchObject({
      ok: false,
      failure: { operation: 'archive', segment_path: broken, code: 'INTERNAL', message: 'an unexpected error; takhin-tiered serve logs its details on stderr', retry_at: expect.any(Number) },
    });
    expect(JSON.stringify(body)).not.toContain('/private/details');
    // The store answered and the prefix is ours: only the step failed.
    expect(body.cold_store).toMatchObject({ claim: 'owned', error: null });
    expect(fx.logged).toEqual([]);
  });

  it('names the data dir that took the prefix over while the console served, and the cycles that failed for it', async () => {
    fx = await startConsoleFixture();
    // A replaced disk: the served data dir's id is gone from it (its process still knows it), and a new data dir takes over.
    await rm(join(fx.dataDir, DATA_DIR_ID_FILE));
    const newDataDir = join(fx.root, 'replacement', 'data');
    await mkdir(newDataDir, { recursive: true });
    const config = loadConfig({ storage: { data: { dir: newDataDir }, tiered: { enabled: true, fs: { root: join(siblingOf(fx.dataDir), 'cold') } } } }, { providers: [fsProvider] });
    const taker = await openTieredStorage(createContainer(config, [fsProvider]), { takeOverColdStore: true });
    others.push(taker);
    expect(taker.coldStoreClaim.status).toBe('owned');

    // Its claim check still stands, so the cycle's refresh passes; each archive asks first, and is refused.
    const cycle = await postJson(fx.port, '/api/v1/tiered/cycle', {});
    expect(cycle.status).toBe(200);
    expect(cycle.json).toMatchObject({ planned: 2, archived: 0, failed: 2 });
    const refused = await stats(fx);
    expect(refused.cold_store).toMatchObject({
      backend: 'fs',
      claim: 'claimed',
      owner: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), data_dir: newDataDir, host: hostname(), claimed_at: expect.any(Number) },
      error: { code: 'COLD_STORE_CLAIMED', message: expect.stringContaining(`belongs to the data dir ${newDataDir} on ${hostname()}`) },
    });
    expect(refused.archiver.last_cycle).toMatchObject({ ok: false, report: { failed: 2 }, failure: { operation: 'archive', code: 'COLD_STORE_CLAIMED' } });
    let text = await metrics(fx);
    expect(sample(text, 'tiered_storage_cold_store_owned')).toBe(0);
    expect(sample(text, 'tiered_storage_cold_store_claim{state="claimed"}')).toBe(1);

    // The next cycle's refresh asks again and fails: the cycle itself failed, with no report.
    const failed = await postJson(fx.port, '/api/v1/tiered/cycle', {});
    expect(failed.status).toBe(409);
    expect(failed.json.error).toBe('COLD_STORE_CLAIMED');
    const after = await stats(fx);
    expect(after.archiver.last_cycle).toMatchObject({ ok: false, report: null, failure: { operation: 'cycle', segment_path: null, code: 'COLD_STORE_CLAIMED', retry_at: null } });
    expect(after.archiver.last_cycle.failure.message).toContain(`belongs to the data dir ${newDataDir}`);
    expect(after.archiver).toMatchObject({ last_success_at: null, last_failure_at: after.archiver.last_cycle.finished_at });
    expect(after.cold_store).toMatchObject({ claim: 'claimed', owner: { data_dir: newDataDir } });
    text = await metrics(fx);
    expect(sample(text, 'tiered_storage_archiver_last_failure_timestamp_seconds')).toBe(after.archiver.last_failure_at / 1000);
    // Asking changed nothing: the new owner's claim stands.
    expect(taker.coldStoreClaim.status).toBe('owned');
  });
});
