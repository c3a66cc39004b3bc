/**
 * The retained topics as a tree: one node per topic level, expand and collapse kept across
 * polls, each retained topic with its last value (text, or hex for binary payloads and on
 * request), QoS and size. A small list opens fully; a big one opens its first level only.
 */
import { byTestId, h, replaceChildren } from './dom.js';
import { base64Bytes, formatBytes, formatCount, hexDump, truncate } from './format.js';

const OPEN_ALL_UP_TO = 40;
const PREVIEW_CHARS = 160;
const PREVIEW_BYTES = 48;

/** { children: Map(name → node), entry?, path, name, count (retained at or below) } from a flat list. */
export function buildTopicTree(entries) {
  const root = { name: '', path: '', children: new Map(), entry: undefined, count: 0 };
  for (const entry of entries) {
    let node = root;
    node.count++;
    const levels = entry.topic.split('/');
    levels.forEach((name, i) => {
      let child = node.children.get(name);
      if (child === undefined) {
        child = { name, path: levels.slice(0, i + 1).join('/'), children: new Map(), entry: undefined, count: 0 };
        node.children.set(name, child);
      }
      child.count++;
      node = child;
    });
    node.entry = entry;
  }
  return root;
}

function sortedChildren(node) {
  return [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function allPaths(node, out = []) {
  for (const child of node.children.values()) {
    if (child.children.size > 0) out.push(child.path);
    allPaths(child, out);
  }
  return out;
}

/** The value as shown: text when the broker sent it as text and text is asked for, else hex. */
function preview(entry, encoding) {
  if (entry.payload !== null && entry.payload !== undefined && encoding === 'text') {
    return { text: entry.payload === '' ? '(empty)' : truncate(entry.payload, PREVIEW_CHARS), full: entry.payload, hex: false };
  }
  const bytes = base64Bytes(entry.payloadBase64);
  return { text: bytes.length === 0 ? '(empty)' : hexDump(bytes, PREVIEW_BYTES), full: hexDump(bytes, 4096), hex: true };
}

export function createTopicTree({ onFilter }) {
  const list = byTestId('topic-tree');
  const count = byTestId('topics-count');
  const empty = byTestId('topics-empty');
  const filterForm = byTestId('topics-filter-form');
  const filterInput = byTestId('topics-filter');
  const encodingButtons = [byTestId('payload-text'), byTestId('payload-hex')];
  const expanded = new Set();
  let tree = buildTopicTree([]);
  let entries = [];
  let limit = 1000;
  let encoding = 'text';
  let firstLoad = true;
  let shownKey = '';

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    firstLoad = true;
    onFilter(filterInput.value.trim() === '' ? '#' : filterInput.value.trim());
  });
  for (const button of encodingButtons) {
    button.addEventListener('click', () => {
      encoding = button.dataset.encoding;
      for (const b of encodingButtons) b.setAttribute('aria-pressed', String(b === button));
      render(true);
    });
  }
  byTestId('topics-expand').addEventListener('click', () => {
    for (const path of allPaths(tree)) expanded.add(path);
    render(true);
  });
  byTestId('topics-collapse').addEventListener('click', () => {
    expanded.clear();
    render(true);
  });

  function toggle(path) {
    if (expanded.has(path)) expanded.delete(path);
    else expanded.add(path);
    render(true);
  }

  function nodeView(node, depth) {
    const open = expanded.has(node.path);
    const hasChildren = node.children.size > 0;
    const value = node.entry === undefined ? null : preview(node.entry, encoding);
    const row = h(
      'div',
      { class: 'tree-row' },
      hasChildren
        ? h('button', { type: 'button', class: 'tree-toggle', 'aria-label': `${open ? 'Collapse' : 'Expand'} ${node.path}`, 'data-testid': 'topic-toggle', onclick: () => toggle(node.path) }, open ? '▾' : '▸')
        : h('span', { class: 'tree-toggle-space', 'aria-hidden': 'true' }),
      h('span', { class: `tree-name${node.name === '' ? ' muted' : ''}`, title: node.path }, node.name === '' ? '(empty level)' : node.name),
      hasChildren ? h('span', { class: 'tree-count' }, formatCount(node.count - (node.entry ? 1 : 0))) : null,
      value === null
        ? null
        : h(
            'span',
            { class: 'tree-value-wrap' },
            h('code', { class: `tree-value${value.hex ? ' hex' : ''}`, title: value.full, 'data-testid': 'topic-value', 'data-encoding': value.hex ? 'hex' : 'text' }, value.text),
            h('span', { class: 'tree-meta' }, `QoS ${node.entry.qos} · ${formatBytes(node.entry.bytes)}`),
          ),
    );
    return h(
      'li',
      {
        role: 'treeitem',
        class: `depth-${Math.min(depth, 8)}`,
        'aria-expanded': hasChildren ? String(open) : null,
        'data-testid': 'topic-node',
        'data-topic': node.path,
      },
      row,
      hasChildren && open ? h('ul', { role: 'group' }, sortedChildren(node).map((c) => nodeView(c, depth + 1))) : null,
    );
  }

  function render(force = false) {
    const key = JSON.stringify([encoding, [...expanded], entries]);
    if (!force && key === shownKey) return;
    shownKey = key;
    const more = entries.length >= limit ? ` · first ${formatCount(limit)} shown` : '';
    count.textContent = `(${formatCount(entries.length)}${more})`;
    empty.hidden = entries.length > 0;
    empty.textContent = 'No retained messages match this filter.';
    replaceChildren(list, sortedChildren(tree).map((c) => nodeView(c, 0)));
  }

  return {
    update(list, shownLimit = 1000) {
      entries = list;
      limit = shownLimit;
      tree = buildTopicTree(list);
      if (firstLoad && list.length > 0) {
        firstLoad = false;
        if (list.length <= OPEN_ALL_UP_TO) for (const path of allPaths(tree)) expanded.add(path);
      }
      render();
    },
    filter: () => (filterInput.value.trim() === '' ? '#' : filterInput.value.trim()),
    clear() {
      entries = [];
      tree = buildTopicTree([]);
      expanded.clear();
      firstLoad = true;
      render(true);
    },
  };
}
