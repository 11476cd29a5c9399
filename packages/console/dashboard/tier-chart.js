import { formatBytes } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const TIERS = [
  { tier: 'hot', label: 'Hot (local)' },
  { tier: 'warm', label: 'Warm (local)' },
  { tier: 'cold', label: 'Cold (cold store)' },
];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws bytes per tier as horizontal bars, with segment counts; the chart's label says it all in words. */
export function drawTierChart(container, stats) {
  const width = 460;
  const rowHeight = 34;
  const labelWidth = 130;
  const barMax = width - labelWidth - 150;
  const max = Math.max(1, ...TIERS.map(({ tier }) => stats.bytes_by_tier[tier]));
  const counts = { hot: stats.hot_segments, warm: stats.warm_segments, cold: stats.cold_segments };
  const summary = TIERS.map(({ tier }) => `${tier}: ${counts[tier]} segments, ${formatBytes(stats.bytes_by_tier[tier])}`).join('; ');
  const chart = svg('svg', { viewBox: `0 0 ${width} ${rowHeight * TIERS.length}`, width, height: rowHeight * TIERS.length, role: 'img', 'aria-label': `Bytes per tier. ${summary}` });
  TIERS.forEach(({ tier, label }, i) => {
    const y = i * rowHeight;
    const length = Math.round((stats.bytes_by_tier[tier] / max) * barMax);
    chart.append(
      svg('text', { x: 0, y: y + 21, class: 'chart-label' }, label),
      svg('rect', { x: labelWidth, y: y + 6, width: Math.max(length, 2), height: rowHeight - 12, rx: 3, class: `bar bar-${tier}` }),
      svg('text', { x: labelWidth + Math.max(length, 2) + 8, y: y + 21, class: 'chart-value' }, `${formatBytes(stats.bytes_by_tier[tier])} · ${counts[tier]} seg.`),
    );
  });
  container.replaceChildren(chart);
}
