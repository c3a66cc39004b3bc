/** The summary tiles: uptime, clients, message rates, retained, subscriptions, dropped. */
import { byTestId } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatRate } from './format.js';

function setTile(id, value, sub = '') {
  const tile = byTestId(id);
  tile.querySelector('.tile-value').textContent = value;
  tile.querySelector('.tile-sub').textContent = sub;
}

/** From GET /broker (counters, uptime). */
export function renderBrokerTiles(broker) {
  const c = broker.counters ?? {};
  setTile('tile-uptime', formatDuration(broker.uptimeSeconds), `version ${broker.version ?? '?'}`);
  setTile('tile-clients', formatCount(c.clientsConnected), `max ${formatCount(c.clientsMaximum)} · ${formatCount(c.sessions)} sessions`);
  setTile('tile-retained', formatCount(c.retained), `${formatBytes(c.queueBytes)} queued`);
  setTile('tile-subscriptions', formatCount(c.subscriptions), `${formatCount(c.clientsExpired)} sessions expired`);
  setTile('tile-dropped', formatCount(c.publishDropped), 'publishes dropped');
  byTestId('tile-dropped').classList.toggle('tile-warn', (c.publishDropped ?? 0) > 0);
}

/** From GET /rates: the newest second. */
export function renderRateTiles(rates) {
  const last = rates.samples?.at(-1);
  if (last === undefined) {
    setTile('tile-msg-in', '–', 'per second');
    setTile('tile-msg-out', '–', 'per second');
    return;
  }
  setTile('tile-msg-in', `${formatRate(last.publishIn)}/s`, `${formatBytes(last.bytesIn)}/s received`);
  setTile('tile-msg-out', `${formatRate(last.publishOut)}/s`, `${formatBytes(last.bytesOut)}/s sent`);
}
