import { el } from './format.js';

/** Renders the next cycle's plan (changes only) and its counts. */
export function renderPlan(summary, tbody, plan) {
  const { retier, archive, evict } = plan.counts;
  summary.textContent =
    plan.total === 0
      ? 'Nothing to do: every segment is where the policy wants it.'
      : `${plan.total} change${plan.total === 1 ? '' : 's'}: ${archive} to archive, ${evict} to evict, ${retier} to move between local tiers${plan.truncated ? ` (first ${plan.items.length} shown)` : ''}.`;
  tbody.replaceChildren(
    ...plan.items.map((item) =>
      el(
        'tr',
        {},
        el('td', { className: `plan-action plan-${item.action}` }, item.action),
        el('th', { scope: 'row', className: 'path' }, item.segment_path),
        el('td', {}, `${item.from} → ${item.to}`),
        el('td', {}, `${item.rule}: ${item.reason}`),
      ),
    ),
  );
}
