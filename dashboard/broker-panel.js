/** The broker's listeners (with their connections) and its limits (0 means none). */
import { byTestId, h, replaceChildren } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatLimit } from './format.js';

/** The limits people look for, in this order, each with how its value reads. */
const KNOWN_LIMITS = [
  ['maxConnections', 'Max connections', formatCount],
  ['maxInflight', 'Max in flight per client', formatCount],
  ['maxQueued', 'Max queued per client', formatCount],
  ['maxQueueMemory', 'Queue memory', formatBytes],
  ['maxPacketSize', 'Max packet size', formatBytes],
  ['messageSizeLimit', 'Max message size', formatBytes],
  ['maxKeepalive', 'Max keep-alive', formatDuration],
  ['maxSubscriptions', 'Max subscriptions per client', formatCount],
];

/** The rest of BrokerConfig that reads better with a label of its own; anything else is humanized. */
const OTHER_SETTINGS = {
  maxQoS: ['Max QoS', String],
  retainAvailable: ['Retain available', otherValue],
  receiveMaximum: ['Receive maximum', formatCount],
  topicAliasMaximum: ['Topic alias maximum', formatCount],
  maxTopicLevels: ['Max topic levels', formatCount],
  maxClientBuffer: ['Output buffer per client', formatBytes],
  connectTimeoutMs: ['CONNECT timeout', (ms) => formatDuration(ms / 1000)],
  stallTimeoutMs: ['Stall timeout', (ms) => formatDuration(ms / 1000)],
  sysInterval: ['$SYS interval', formatDuration],
};

function otherValue(value) {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatCount(value);
  if (typeof value === 'string') return value === '' ? '–' : value;
  if (value === null || value === undefined) return '–';
  return JSON.stringify(value);
}

/** 0 is "none" for a limit, "off" for an interval; QoS 0 is just 0. */
function settingText(key, value, format) {
  if (value !== 0 || format === otherValue || key === 'maxQoS') return format(value);
  return key === 'sysInterval' ? 'off' : 'none';
}

/** camelCase → "Camel case" for the fields the page has no label for. */
function humanize(key) {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function renderBrokerPanel(broker) {
  const listeners = broker.listeners ?? [];
  replaceChildren(
    byTestId('listeners-body'),
    listeners.length === 0
      ? h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No listeners'))
      : listeners.map((l) =>
          h(
            'tr',
            { 'data-testid': 'listener-row', 'data-kind': l.kind },
            h('td', {}, h('span', { class: `badge badge-${l.kind}` }, l.kind), l.name && l.name !== l.kind ? h('span', { class: 'muted small' }, ` ${l.name}`) : null),
            h('td', { class: 'mono', title: l.url ?? '' }, l.url ?? `${l.address}:${l.port}`),
            h('td', { class: 'num' }, formatCount(l.connections)),
          ),
        ),
  );

  const limits = broker.limits ?? {};
  const rows = [];
  for (const [key, label, format] of KNOWN_LIMITS) {
    if (key in limits) rows.push([key, label, formatLimit(limits[key], format)]);
  }
  // The rest of the broker's settings, folded away: useful when asked for, noise otherwise.
  const known = new Set(KNOWN_LIMITS.map(([key]) => key));
  const others = [];
  for (const [key, value] of Object.entries(limits)) {
    if (known.has(key) || (value !== null && typeof value === 'object') || typeof value === 'function') continue;
    const [label, format] = OTHER_SETTINGS[key] ?? [humanize(key), otherValue];
    others.push([key, label, settingText(key, value, format)]);
  }
  const item = ([key, label, value]) => h('div', { class: 'limit', 'data-testid': 'limit', 'data-key': key }, h('dt', {}, label), h('dd', { class: value === 'none' ? 'muted' : '' }, value));
  replaceChildren(byTestId('limits'), rows.map(item));
  byTestId('settings').hidden = others.length === 0;
  byTestId('settings-summary').textContent = `All settings (${others.length} more)`;
  replaceChildren(byTestId('settings-list'), others.map(item));
}
