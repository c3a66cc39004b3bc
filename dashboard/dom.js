/**
 * A tiny element builder. Every value from the broker (client ids, topics, payloads) is
 * arbitrary text, so it only ever reaches the page as a text node or an attribute value,
 * never as markup.
 */

/**
 * h('td', { class: 'num', 'data-testid': 'x' }, 'text', otherNode)
 * Attributes whose value is null, undefined or false are left out; true sets an empty one.
 * Children may be strings, numbers, nodes, or arrays of them; null and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** The one element with this data-testid under root (the page by default); throws if missing, as that is a bug in index.html. */
export function byTestId(id, root = document) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (el === null) throw new Error(`dashboard: no element [data-testid="${id}"]`);
  return el;
}

/** Replaces an element's children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
