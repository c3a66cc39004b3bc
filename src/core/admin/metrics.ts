/**
 * GET /metrics: the broker's counters and gauges (the numbers $SYS publishes), connections per
 * listener, connects refused by reason code, deliveries per QoS, session queue depths and store
 * commit latency as histograms. Read at scrape time; nothing here runs between scrapes.
 */
import { reasonCodeName } from '../codec/constants.js';
import type { Broker } from '../broker/broker.js';
import { COMMIT_BUCKETS_MS } from '../broker/stats.js';
import { Exposition } from './exposition.js';

/** A listener as the admin side knows it: what broker.listen() answered. */
export interface AdminListener {
  readonly kind: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly url: string;
}

/** Upper bounds of the queue depth histogram (messages queued per session). */
export const QUEUE_DEPTH_BUCKETS: readonly number[] = [0, 1, 10, 100, 1000, 10_000];

export function renderMetrics(broker: Broker, listeners: readonly AdminListener[], now = Date.now()): string {
  const s = broker.stats;
  const i = broker.inspect;
  const e = new Exposition();
  e.single('mqt_bytes_received_total', 'counter', 'Bytes read from clients.', s.bytesReceived);
  e.single('mqt_bytes_sent_total', 'counter', 'Bytes written to clients.', s.bytesSent);
  e.single('mqt_packets_received_total', 'counter', 'MQTT packets of every type read from clients.', s.packetsReceived);
  e.single('mqt_packets_sent_total', 'counter', 'MQTT packets of every type written to clients.', s.packetsSent);
  e.single('mqt_publish_received_total', 'counter', 'PUBLISH packets read from clients.', s.publishReceived);
  e.single('mqt_publish_received_bytes_total', 'counter', 'Payload bytes of the PUBLISH packets read from clients.', s.publishBytesReceived);
  e.metric('mqt_publish_sent_total', 'counter', 'PUBLISH packets written to clients, by the QoS they went out at.');
  for (const qos of [0, 1, 2] as const) e.sample('mqt_publish_sent_total', s.publishSentByQos[qos], { qos: String(qos) });
  e.single('mqt_publish_sent_bytes_total', 'counter', 'Payload bytes of the PUBLISH packets written to clients.', s.publishBytesSent);
  e.single('mqt_publish_dropped_total', 'counter', 'Messages dropped (queue full, queue memory full, too large for the client).', i.droppedCount());
  e.single('mqt_connects_accepted_total', 'counter', 'CONNECTs answered with CONNACK success.', s.connectsAccepted);
  e.metric('mqt_connects_refused_total', 'counter', 'CONNECTs refused (and connections closed by max connections), by MQTT 5 reason code.');
  for (const [code, n] of [...s.connectsRefused].sort((a, b) => a[0] - b[0])) {
    e.sample('mqt_connects_refused_total', n, { reason: `0x${code.toString(16).padStart(2, '0')}`, name: reasonCodeName(code, 'connack') });
  }
  e.single('mqt_clients_connected', 'gauge', 'Clients connected now (CONNACK sent).', i.connectedCount());
  e.single('mqt_sessions', 'gauge', 'Sessions, online and offline.', i.sessionCount());
  e.single('mqt_clients_maximum', 'gauge', 'Most clients connected at once since the broker started.', s.clientsMaximum);
  e.single('mqt_clients_expired_total', 'counter', 'Sessions ended by their expiry interval while offline.', s.clientsExpired);
  e.single('mqt_retained_messages', 'gauge', 'Retained messages held.', i.retainedCount());
  e.single('mqt_subscriptions', 'gauge', 'Subscriptions over all sessions.', i.subscriptionCount());
  e.single('mqt_queue_bytes', 'gauge', 'Payload and topic bytes held in all session queues.', i.queueBytes());
  const ops = broker.clusterOperations;
  if (ops !== undefined) {
    e.single('mqt_cluster_nodes', 'gauge', 'Nodes of the cluster alive, this one included.', ops.nodes().length);
    const x = ops.crossNode();
    e.metric('mqt_cluster_crossnode_messages_total', 'counter', 'Messages this node sent to other nodes, received from them, and dropped (unreadable, or past the buffer while Redis was away).');
    e.sample('mqt_cluster_crossnode_messages_total', x.sent, { direction: 'sent' });
    e.sample('mqt_cluster_crossnode_messages_total', x.received, { direction: 'received' });
    e.sample('mqt_cluster_crossnode_messages_total', x.dropped, { direction: 'dropped' });
  }
  const mem = process.memoryUsage();
  e.single('mqt_heap_used_bytes', 'gauge', 'V8 heap in use.', mem.heapUsed);
  e.single('mqt_resident_memory_bytes', 'gauge', 'Resident set size of the broker process.', mem.rss);
  e.single('mqt_uptime_seconds', 'gauge', 'Seconds since the broker started.', Math.max(0, Math.floor((now - s.startedAt) / 1000)));

  e.metric('mqt_listener_connections', 'gauge', 'Connections open now, per listener.');
  for (const l of listeners) e.sample('mqt_listener_connections', s.listeners.get(l.name)?.open ?? 0, { listener: l.name, kind: l.kind });
  e.metric('mqt_listener_connections_accepted_total', 'counter', 'Connections accepted since the broker started, per listener.');
  for (const l of listeners) e.sample('mqt_listener_connections_accepted_total', s.listeners.get(l.name)?.accepted ?? 0, { listener: l.name, kind: l.kind });

  const depths = new Array<number>(QUEUE_DEPTH_BUCKETS.length + 1).fill(0);
  let queuedTotal = 0;
  for (const session of i.sessions()) {
    let b = 0;
    while (b < QUEUE_DEPTH_BUCKETS.length && session.queued > QUEUE_DEPTH_BUCKETS[b]!) b++;
    depths[b]!++;
    queuedTotal += session.queued;
  }
  e.histogram('mqt_session_queue_depth', 'Messages queued per session, over all sessions.', QUEUE_DEPTH_BUCKETS, depths, queuedTotal);
  e.histogram(
    'mqt_store_commit_seconds',
    'Store commit latency (with --persistence).',
    COMMIT_BUCKETS_MS.map((ms) => ms / 1000),
    s.commitBuckets,
    s.commitMsTotal / 1000,
  );
  return e.text();
}
