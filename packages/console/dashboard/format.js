// Formatting and safe DOM building: every value is set as text, never parsed as HTML, so a
// segment path or a reason from disk can never become markup or script.

export { formatBytes } from './bytes.js';

export function formatTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** `el('td', { className: 'x' }, 'text', child)`: an element with properties and text or element children. */
export function el(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('aria') || name === 'role') element.setAttribute(name.replace(/^aria([A-Z])/, (_, c) => `aria-${c.toLowerCase()}`), value);
    else element[name] = value;
  }
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}
