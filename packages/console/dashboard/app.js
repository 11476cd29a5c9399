import { api, ApiFailure, getToken, setToken } from './api.js';
import { el, formatBytes, formatTime } from './format.js';
import { renderPlan } from './plan-list.js';
import { renderSegments } from './segment-table.js';
import { drawTierChart } from './tier-chart.js';

const REFRESH_MS = 5000;
const $ = (selector) => document.querySelector(selector);

/** The segment list's filters and the cursors of the pages seen so far. */
const view = { filters: { limit: '50' }, cursor: undefined, nextCursor: null, page: 1 };
let busy = 0;
/** Whether #status shows a failed refresh (which the next refresh that works takes away), not an operation's outcome. */
let refreshFailed = false;

function announce(message, isError = false, fromRefresh = false) {
  const status = $('#status');
  status.textContent = message;
  status.className = isError ? 'error' : 'ok';
  refreshFailed = fromRefresh;
}

function failureText(error) {
  if (error instanceof ApiFailure) {
    if (error.status === 401) return `Not authorised: ${error.message}. Enter the console's token above.`;
    return `${error.code}: ${error.message}`;
  }
  return `Cannot reach the console: ${error.message}`;
}

/** What the cold store's claim says when the prefix is not this data dir's (null while it is, or before any check). */
function claimItem({ claim, owner, error, checked_at: checkedAt }) {
  const why = error ? ` ${error.code}: ${error.message}` : '';
  const when = checkedAt === null ? '' : ` (checked ${formatTime(checkedAt)})`;
  if (claim === 'claimed') {
    const who = owner ? `${owner.data_dir} on ${owner.host}${owner.claimed_at === null ? '' : ` since ${formatTime(owner.claimed_at)}`}` : 'another data dir';
    return el('li', { className: 'attention-claim' }, el('strong', {}, 'Cold store owned by another data dir: '), `${who}; nothing is archived here${when}.${why}`);
  }
  if (claim === 'unchecked' && error) return el('li', { className: 'attention-claim' }, el('strong', {}, 'Cold store claim unchecked: '), `nothing is archived until the cold store answers${when}.${why}`);
  return null;
}

/** The archiver's last cycle, when it failed (its refresh, or one of its steps). */
function cycleItem(cycle) {
  if (cycle === null || cycle.ok) return null;
  const { failure } = cycle;
  const what = failure.operation === 'cycle' ? 'its refresh' : `${failure.operation} ${failure.segment_path}`;
  const retry = failure.retry_at === null ? '' : ` (tried again from ${formatTime(failure.retry_at)})`;
  return el('li', { className: 'attention-cycle' }, el('strong', {}, `Last cycle failed (${formatTime(cycle.finished_at)}): `), `${what}${retry}: ${failure.code}: ${failure.message}`);
}

/**
 * What an operator should look at, the section hidden while there is none: a cold store prefix
 * this data dir no longer owns (or could not check), the archiver's last cycle when it failed,
 * and reconciliation's postponed segments and problems.
 */
function renderAttention({ reconciliation: { postponed, problems }, cold_store: coldStore, archiver }) {
  const items = [
    claimItem(coldStore),
    cycleItem(archiver.last_cycle),
    ...postponed.map((text) => el('li', { className: 'attention-postponed' }, el('strong', {}, 'Waiting for the cold store: '), text)),
    ...problems.map((text) => el('li', { className: 'attention-problem' }, el('strong', {}, 'Problem: '), text)),
  ].filter((item) => item !== null);
  $('#attention-list').replaceChildren(...items);
  $('#attention').hidden = items.length === 0;
}

async function loadStats() {
  const stats = await api.stats();
  renderAttention(stats);
  drawTierChart($('#tier-chart'), stats);
  const rows = [
    ['hot', stats.hot_segments, stats.bytes_by_tier.hot],
    ['warm', stats.warm_segments, stats.bytes_by_tier.warm],
    ['cold', stats.cold_segments, stats.bytes_by_tier.cold],
  ];
  $('#tier-table tbody').replaceChildren(
    ...rows.map(([tier, count, bytes]) => el('tr', {}, el('th', { scope: 'row', className: `tier tier-${tier}` }, tier), el('td', { className: 'number' }, count), el('td', { className: 'number' }, formatBytes(bytes)))),
  );
  $('#tier-table tfoot').replaceChildren(
    el('tr', {}, el('th', { scope: 'row' }, 'all'), el('td', { className: 'number' }, `${stats.total_segments} (${stats.archived_segments} archived)`), el('td', { className: 'number' }, `${formatBytes(stats.local_bytes)} local · ${formatBytes(stats.remote_bytes)} remote`)),
  );
}

async function loadSegments() {
  const query = Object.fromEntries(Object.entries(view.filters).filter(([, value]) => value !== ''));
  if (view.cursor) query.cursor = view.cursor;
  const page = await api.segments(query);
  renderSegments($('#segments tbody'), page.segments, runOperation);
  view.nextCursor = page.next_cursor;
  $('#next-page').disabled = page.next_cursor === null;
  $('#first-page').disabled = view.cursor === undefined;
  $('#page-label').textContent = `Page ${view.page}`;
}

async function loadPlan() {
  renderPlan($('#plan-summary'), $('#plan tbody'), await api.plan());
}

/** Takes every figure off the page: after a refused token, nothing stale stays on show. */
function clearData() {
  for (const selector of ['#tier-table tbody', '#tier-table tfoot', '#segments tbody', '#plan tbody', '#attention-list']) $(selector).replaceChildren();
  $('#attention').hidden = true;
  $('#plan-summary').textContent = '';
  $('#tier-chart').replaceChildren();
}

async function refresh() {
  if (busy > 0) return; // an operation in flight refreshes when it ends
  try {
    await Promise.all([loadStats(), loadSegments(), loadPlan()]);
    $('#updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    if (refreshFailed) announce('');
  } catch (error) {
    if (error instanceof ApiFailure && error.code === 'INVALID_CURSOR') {
      view.cursor = undefined;
      view.page = 1;
      return refresh();
    }
    if (error instanceof ApiFailure && error.status === 401) clearData();
    announce(failureText(error), true, true);
  }
}

async function runOperation(operation, path, button) {
  busy++;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  announce(`${operation} ${path}…`);
  try {
    const result = await api.operate(operation, path);
    announce(`${result.message}: ${path}`);
  } catch (error) {
    announce(failureText(error), true);
  } finally {
    busy--;
    await refresh();
  }
}

function wire() {
  $('#token').value = getToken();
  $('#token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    setToken($('#token').value.trim());
    announce(getToken() ? 'Token saved for this tab.' : 'Token cleared.');
    void refresh();
  });
  $('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    view.filters = Object.fromEntries(new FormData(event.currentTarget));
    view.cursor = undefined;
    view.page = 1;
    void refresh();
  });
  $('#next-page').addEventListener('click', () => {
    if (view.nextCursor === null) return;
    view.cursor = view.nextCursor;
    view.page++;
    void refresh();
  });
  $('#first-page').addEventListener('click', () => {
    view.cursor = undefined;
    view.page = 1;
    void refresh();
  });
  $('#refresh-now').addEventListener('click', () => void refresh());
  $('#run-cycle').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    busy++;
    button.disabled = true;
    announce('Running a cycle…');
    try {
      const report = await api.cycle();
      announce(`Cycle done: ${report.archived} archived, ${report.evicted} evicted, ${report.retiered} retiered, ${report.failed} failed.`, report.failed > 0);
    } catch (error) {
      announce(failureText(error), true);
    } finally {
      busy--;
      button.disabled = false;
      await refresh();
    }
  });
  setInterval(() => {
    if ($('#auto-refresh').checked) void refresh();
  }, REFRESH_MS);
}

wire();
void refresh();
