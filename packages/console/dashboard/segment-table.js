import { el, formatBytes, formatTime } from './format.js';

/**
 * Which buttons a segment gets: archive a local one not yet archived (unless the server says it
 * would refuse: the active segment, an internal or never-tiered topic), restore a cold one,
 * evict a restored one.
 */
function actionsOf(segment) {
  if (segment.state !== 'idle') return [];
  if (segment.policy === 'cold') return ['restore'];
  if (segment.is_archived) return ['evict'];
  return segment.archive_refusal ? [] : ['archive'];
}

const LABELS = { archive: 'Archive', restore: 'Restore', evict: 'Evict' };

/** Renders one page of segments; `onAction(operation, path, button)` runs a button's operation. */
export function renderSegments(tbody, segments, onAction) {
  if (segments.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { colSpan: 8, className: 'muted' }, 'No segments match.')));
    return;
  }
  tbody.replaceChildren(
    ...segments.map((segment) => {
      const allFiles = Object.values(segment.files).reduce((sum, file) => sum + file.size, 0);
      const buttons = actionsOf(segment).map((operation) =>
        el('button', {
          type: 'button',
          textContent: LABELS[operation],
          className: `action action-${operation}`,
          ariaLabel: `${LABELS[operation]} ${segment.segment_path}`,
          onclick: (event) => onAction(operation, segment.segment_path, event.currentTarget),
        }),
      );
      return el(
        'tr',
        { dataset: { segment: segment.segment_path } },
        el('th', { scope: 'row', className: 'path' }, segment.segment_path),
        el('td', { className: `tier tier-${segment.policy}` }, segment.policy),
        el('td', { className: 'archived' }, segment.is_archived ? 'yes' : 'no'),
        el('td', { className: 'state' }, segment.state),
        el('td', { className: 'number' }, formatBytes(segment.size)),
        el('td', { className: 'number' }, formatBytes(allFiles)),
        el('td', {}, formatTime(segment.last_modified)),
        el('td', { className: 'actions' }, ...buttons),
      );
    }),
  );
}
