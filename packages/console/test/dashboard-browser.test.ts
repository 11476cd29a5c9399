import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provider as fsProvider } from '@takhin/backend-fs';
import { CLAIM_RECHECK_MS, CLOCK, DATA_DIR_ID_FILE, createContainer, loadConfig, openTieredStorage, siblingOf, type TieredStorage } from '@takhin/core';
import { ConsoleServer } from '@takhin/console';
import { writeBrokerLogDir } from '@takhin/testkit';

/** Debian's Chromium, installed by scripts/browser (npm test runs it); playwright-core never downloads one. */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
/** `TAKHIN_UPDATE_DOCS_SCREENSHOT=1 npm test -- packages/console/test/dashboard` refreshes the README's picture. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/images/dashboard.png', import.meta.url));
const TOKEN = 'dashboard-test-token';
const DAY = 24 * 3_600_000;
/** The system clock, moved on when a test says so (past the cold store claim's standing check). */
const clock = { skip: 0, now: () => Date.now() + clock.skip };

// The dashboard end to end in headless Chromium, over a realistic broker log dir (internal
// topics, compacted and deleted leftovers, transactions) of which a cycle archived the old part.
describe('dashboard in headless Chromium', () => {
  let root: string;
  let tiered: TieredStorage;
  /** A data dir that takes the cold store's prefix over (the last tests). */
  let taker: TieredStorage | undefined;
  let server: ConsoleServer;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'takhin-dashboard-'));
    const dataDir = join(root, 'data');
    await writeBrokerLogDir(dataDir, {
      now: new Date(),
      mtimeSpanMs: 14 * DAY,
      topics: [
        { name: 'orders.v1-events', partitions: 3, segments: 5, segmentBytes: 256 * 1024 },
        { name: 'payments-ledger', partitions: 1, segments: 4, segmentBytes: 192 * 1024, transactions: { batchesPerTransaction: 2, abortEvery: 3 } },
        { name: 'clickstream.raw', partitions: 2, segments: 3, segmentBytes: 512 * 1024 },
      ],
    });
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, 'cold.age.hours': 120, 'warm.age.hours': 48 } }, console: { token: TOKEN } }, { providers: [fsProvider] });
    const container = createContainer(config, [fsProvider]);
    container.register(CLOCK, { useValue: clock });
    tiered = await openTieredStorage(container);
    const cycle = await tiered.runCycle();
    expect(cycle.archived).toBeGreaterThan(0);
    server = new ConsoleServer({ token: TOKEN });
    url = await server.listen({ host: '127.0.0.1', port: 0, loopback: true });
    server.attach(tiered);
    // The operator's answer to the page's Basic challenge: the token as the password.
    context = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
      httpCredentials: { username: 'operator', password: TOKEN },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close(1000);
    await taker?.close();
    await tiered?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('without the token, the page is refused with a challenge the browser answers by asking for it', async () => {
    const refused = await fetch(`${url}/`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="takhin-tiered"/);
    expect(await refused.text()).not.toContain('Tiers');
  });

  it('a wrong token typed into the page is refused by the API, and says so', async () => {
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 15_000 }).toContain('Not authorised');
    expect(await page.locator('#segments tbody tr[data-segment]').count()).toBe(0);
  });

  it('with the token, shows tier counts, the chart, the segment table and the plan', async () => {
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('#segments tbody tr[data-segment]').first().waitFor({ timeout: 15_000 });
    const stats = tiered.getStats();
    const tierRow = (tier: string) => page.locator('#tier-table tbody tr', { has: page.locator(`th:text-is("${tier}")`) });
    expect(await tierRow('cold').locator('td').first().textContent()).toBe(String(stats.coldSegments));
    expect(await tierRow('hot').locator('td').first().textContent()).toBe(String(stats.hotSegments));
    expect(await page.locator('#tier-chart svg[role="img"]').getAttribute('aria-label')).toContain(`cold: ${stats.coldSegments} segments`);
    expect(await page.locator('#tier-chart svg rect').count()).toBe(3);
    const rows = await page.locator('#segments tbody tr[data-segment]').count();
    expect(rows).toBe(Math.min(50, stats.totalSegments));
    expect(await page.locator('#plan-summary').textContent()).toMatch(/Nothing to do|change/);
    // The token stays in this tab's sessionStorage, never in the URL.
    expect(page.url()).toBe(`${url}/`);
    expect(await page.evaluate(() => sessionStorage.getItem('takhin-tiered.token'))).toBe(TOKEN);
  });

  it('restores an archived segment with a click and shows its new state', async () => {
    const archived = tiered.listSegments({ policy: 'cold', limit: 1 })[0]!;
    const row = page.locator(`#segments tbody tr[data-segment="${archived.path}"]`);
    expect(await row.locator('td.tier').textContent()).toBe('cold');
    expect(await row.locator('td.archived').textContent()).toBe('yes');
    await page.getByRole('button', { name: `Restore ${archived.path}` }).click();
    await expect.poll(() => row.locator('td.tier').textContent(), { timeout: 30_000 }).toBe('hot');
    expect(await row.locator('td.archived').textContent()).toBe('yes');
    expect(await page.locator('#status').textContent()).toContain('segment restored successfully');
    expect(tiered.getSegment(archived.path)).toMatchObject({ policy: 'hot', isArchived: true });
    // Restored and still archived: the row now offers Evict.
    expect(await row.getByRole('button', { name: `Evict ${archived.path}` }).count()).toBe(1);

    await mkdir(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    if (process.env.TAKHIN_UPDATE_DOCS_SCREENSHOT === '1') await copyFile(screenshot, DOCS_SCREENSHOT);
  });

  it('pages through the segment table', async () => {
    const total = tiered.getStats().totalSegments;
    await page.locator('#filters select[name="limit"]').selectOption('25');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('#segments tbody tr[data-segment]').count()).toBe(Math.min(25, total));
    const first = await page.locator('#segments tbody tr[data-segment]').first().getAttribute('data-segment');
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('#page-label').textContent()).toBe('Page 2');
    expect(await page.locator('#segments tbody tr[data-segment]').first().getAttribute('data-segment')).not.toBe(first);
    expect(await page.locator('#segments tbody tr[data-segment]').count()).toBe(Math.min(25, total - 25));
  });

  it('says when the console cannot be reached, and stops saying it once it answers again', async () => {
    const port = Number(new URL(url).port);
    await server.close(1000);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 15_000 }).toContain('Cannot reach the console');
    server = new ConsoleServer({ token: TOKEN });
    await server.listen({ host: '127.0.0.1', port, loopback: true });
    server.attach(tiered);
    const updated = await page.locator('#updated').textContent();
    await expect.poll(() => page.locator('#updated').textContent(), { timeout: 15_000 }).not.toBe(updated);
    expect(await page.locator('#status').textContent()).not.toContain('Cannot reach the console');
    expect(await page.locator('#status').getAttribute('class')).not.toBe('error');
  });

  it('lists what reconciliation left for an operator, and shows nothing of the kind while there is none', async () => {
    expect(tiered.lastReconciliation.problems).toEqual([]);
    expect(await page.locator('#attention').isHidden()).toBe(true);
    // A cold segment whose .log comes back with other bytes (a broker rewrote it): both are kept, and it is a problem.
    const cold = tiered.listSegments({ policy: 'cold', limit: 1 })[0]!;
    await writeFile(join(root, 'data', cold.path), 'not what was archived');
    await tiered.refresh();
    const problem = tiered.lastReconciliation.problems[0]!;
    expect(problem).toContain(`${cold.path}: local files differ from its archive`);
    await expect.poll(() => page.locator('#attention').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('#attention-list li').allTextContents()).toEqual([`Problem: ${problem}`]);
  });

  it('lists a cold store prefix another data dir took over, naming it, and the cycle that failed for it', async () => {
    expect(await page.locator('#attention-list li.attention-claim, #attention-list li.attention-cycle').count()).toBe(0);
    // A replaced disk: this data dir's id gone from it while its console runs, and a new data dir takes the prefix over.
    const dataDir = join(root, 'data');
    await rm(join(dataDir, DATA_DIR_ID_FILE));
    const newDataDir = join(root, 'replacement', 'data');
    await mkdir(newDataDir, { recursive: true });
    const takerConfig = loadConfig({ storage: { data: { dir: newDataDir }, tiered: { enabled: true, fs: { root: join(siblingOf(dataDir), 'cold') } } } }, { providers: [fsProvider] });
    taker = await openTieredStorage(createContainer(takerConfig, [fsProvider]), { takeOverColdStore: true });
    // Past its standing check, the next cycle's refresh asks the cold store whose the prefix is.
    clock.skip += CLAIM_RECHECK_MS;
    await page.getByRole('button', { name: 'Run a cycle now' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 30_000 }).toContain('COLD_STORE_CLAIMED');
    await expect.poll(() => page.locator('#attention-list li.attention-cycle').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator('#attention').isVisible()).toBe(true);
    const claim = await page.locator('#attention-list li.attention-claim').textContent();
    expect(claim).toContain(`Cold store owned by another data dir: ${newDataDir} on ${hostname()} since `);
    expect(claim).toContain(`nothing is archived here (checked `);
    expect(claim).toContain(`COLD_STORE_CLAIMED: the fs cold store's prefix belongs to the data dir ${newDataDir} on ${hostname()}`);
    const cycle = await page.locator('#attention-list li.attention-cycle').textContent();
    expect(cycle).toMatch(/^Last cycle failed \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\): its refresh: COLD_STORE_CLAIMED: the fs cold store's prefix belongs to the data dir /);
    expect(cycle).toContain('run `takhin-tiered rebuild --take-over`');
    // Reconciliation's problem from the test before is still listed beside them.
    expect(await page.locator('#attention-list li.attention-problem').count()).toBe(1);
    expect(tiered.coldStoreClaim.status).toBe('claimed');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-attention.png'), fullPage: true });
  });

  it('ran without a script error', () => {
    expect(pageErrors).toEqual([]);
  });
});
