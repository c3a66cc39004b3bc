/**
 * The connected clients table: filtered as one types (id, user, address), one Disconnect
 * button per row that asks first in an in-page dialog. Rows are rebuilt only when the list
 * changed, so a poll does not take the hover or focus away from a button for nothing.
 */
import { byTestId, h, replaceChildren } from './dom.js';
import { confirmDialog } from './dialog.js';
import { formatAgo, formatBytes, formatCount, formatDateTime, formatProtocol } from './format.js';

/** 127.0.0.1:5000 or [::1]:5000; empty for a client of an embedder's own transport. */
function addressOf(c) {
  if (c.address === null || c.address === undefined) return '';
  const host = c.address.includes(':') ? `[${c.address}]` : c.address;
  return c.port === null || c.port === undefined ? c.address : `${host}:${c.port}`;
}

export function createClientsTable({ kick }) {
  const body = byTestId('clients-body');
  const filter = byTestId('clients-filter');
  const count = byTestId('clients-count');
  const empty = byTestId('clients-empty');
  let clients = [];
  let brokerNow = Date.now();
  let shownKey = '';

  filter.addEventListener('input', () => render(true));

  function matches(c, needle) {
    if (needle === '') return true;
    const address = addressOf(c);
    return [c.clientId, c.username ?? '', address].some((s) => s.toLowerCase().includes(needle));
  }

  async function disconnect(c) {
    const ok = await confirmDialog({
      title: 'Disconnect this client?',
      body: `"${c.clientId}" will be disconnected${c.protocolVersion === 5 ? ' with reason 0x98 (administrative action)' : ''}. It may connect again on its own; its session is kept if it has one.`,
      confirmLabel: 'Disconnect',
    });
    if (ok) await kick(c.clientId);
  }

  function row(c) {
    return h(
      'tr',
      { 'data-testid': 'client-row', 'data-client-id': c.clientId },
      h('td', { class: 'mono strong ellipsis', title: c.clientId, 'data-testid': 'client-id' }, c.clientId === '' ? h('span', { class: 'muted' }, '(empty)') : c.clientId),
      h('td', { class: c.username === null ? 'muted' : '' }, c.username ?? '–'),
      h('td', { class: 'mono' }, addressOf(c) || '–'),
      h('td', {}, c.transport ? h('span', { class: `badge badge-${c.transport}` }, c.transport) : null, c.listener && c.listener !== c.transport ? h('span', { class: 'muted small' }, ` ${c.listener}`) : null, c.node ? h('span', { class: 'muted small', 'data-testid': 'client-node', title: 'cluster node' }, ` @ ${c.node}`) : null),
      h('td', {}, formatProtocol(c.protocolVersion)),
      h('td', { class: 'num' }, c.keepAlive === 0 ? 'off' : `${c.keepAlive} s`),
      h('td', { title: formatDateTime(c.connectedAt) }, formatAgo(c.connectedAt, brokerNow)),
      h('td', { class: 'num' }, formatCount(c.subscriptions)),
      h('td', { class: 'num' }, formatCount(c.queued)),
      h('td', { class: 'num' }, formatCount(c.inflight)),
      h('td', { class: 'num' }, formatBytes(c.buffered)),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'button small danger-ghost', 'data-testid': 'client-disconnect', onclick: () => void disconnect(c) }, 'Disconnect')),
    );
  }

  function render(force = false) {
    const needle = filter.value.trim().toLowerCase();
    const shown = clients.filter((c) => matches(c, needle));
    // The "connected … ago" column moves with the broker's clock, a few seconds at a time.
    const key = JSON.stringify([needle, Math.floor(brokerNow / 5000), shown]);
    count.textContent = needle === '' ? `(${formatCount(clients.length)})` : `(${formatCount(shown.length)} of ${formatCount(clients.length)})`;
    empty.hidden = shown.length > 0;
    empty.textContent = clients.length === 0 ? 'No clients are connected.' : 'No client matches the filter.';
    if (!force && key === shownKey) return;
    shownKey = key;
    replaceChildren(body, shown.map(row));
  }

  return {
    update(list, nowMs) {
      clients = [...list].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
      if (typeof nowMs === 'number') brokerNow = nowMs;
      render();
    },
    /** Takes a client out at once after a successful disconnect; the next poll confirms. */
    remove(clientId) {
      clients = clients.filter((c) => c.clientId !== clientId);
      render(true);
    },
    clear() {
      clients = [];
      filter.value = '';
      render(true);
    },
  };
}
