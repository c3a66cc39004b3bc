/**
 * GET /metrics is valid Prometheus text format 0.0.4 (checked by a small parser: every sample's
 * metric has a TYPE, histogram buckets are cumulative and end in +Inf equal to _count) and its
 * counters move with traffic.
 */
import { describe, expect, it } from 'vitest';
import { brokerFor, connect, tryConnect, until } from '../helpers/broker-client.js';
import { adminFor } from './admin-helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the exposition; throws on any line the format does not allow. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line))) {
      helps.add(m[1]!);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      if (types.has(m[1]!)) throw new Error(`TYPE given twice for ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2] !== undefined && m[2] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let l: RegExpExecArray | null;
      let end = 0;
      while ((l = re.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!;
        end = re.lastIndex;
        if (l[3] === '') break;
      }
      if (end !== m[2].length) throw new Error(`bad labels: ${m[2]}`);
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value in ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  for (const s of samples) {
    const base = types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(base), `${s.name} has a TYPE`).toBe(true);
    expect(helps.has(base), `${s.name} has a HELP`).toBe(true);
    if (base !== s.name) expect(types.get(base)).toBe('histogram');
    if (types.get(base) === 'counter') expect(base.endsWith('_total'), `${base} counter ends in _total`).toBe(true);
  }
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`)!.value;
    expect(samples.some((s) => s.name === `${name}_sum`)).toBe(true);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      const le = (b: Sample): number => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le));
      expect(le(buckets[i]!)).toBeGreaterThan(le(buckets[i - 1]!));
    }
    expect(buckets.at(-1)!.labels.le).toBe('+Inf');
    expect(buckets.at(-1)!.value).toBe(count);
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('GET /metrics', () => {
  it('is valid exposition whose counters, gauges and histograms follow the traffic', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: (_c, username) => (username === 'bad' ? 0x87 : true) } });
    const listeners = [{ kind: 'tcp', name: 'tcp:1883', address: '127.0.0.1', port: 1883, url: 'mqtt://127.0.0.1:1883' }];
    const admin = await adminFor(ctx, broker, { listeners });
    const res0 = await admin.get('/metrics');
    expect(res0.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const before = parseExposition(await res0.text());
    expect(value(before.samples, 'mqt_publish_received_total')).toBe(0);
    expect(value(before.samples, 'mqt_listener_connections', { listener: 'tcp:1883', kind: 'tcp' })).toBe(0);

    const { client: sub } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    await sub.subscribe('m/#', 1);
    const { client: away } = await connect(broker, { clientId: 'away', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    await away.subscribe('m/#', 1);
    await away.disconnect();
    const { client: pub } = await connect(broker, { clientId: 'pub' });
    for (let i = 0; i < 3; i++) pub.publish('m/x', 'hello', { qos: 1 });
    pub.publish('m/y', 'r', { qos: 0, retain: true });
    for (let i = 0; i < 4; i++) await sub.receive();
    await tryConnect(broker, { clientId: 'refused', username: 'bad', protocolVersion: 5 });
    await until(() => broker.stats.publishReceived === 4);

    const after = parseExposition(await (await admin.get('/metrics')).text());
    const s = after.samples;
    expect(value(s, 'mqt_publish_received_total')).toBe(4);
    expect(value(s, 'mqt_publish_received_bytes_total')).toBe(16);
    expect(value(s, 'mqt_publish_sent_total', { qos: '0' })).toBe(1);
    expect(value(s, 'mqt_publish_sent_total', { qos: '1' })).toBe(3);
    expect(value(s, 'mqt_publish_sent_total', { qos: '2' })).toBe(0);
    expect(value(s, 'mqt_bytes_received_total')).toBeGreaterThan(value(before.samples, 'mqt_bytes_received_total')!);
    expect(value(s, 'mqt_clients_connected')).toBe(2);
    expect(value(s, 'mqt_sessions')).toBe(3);
    expect(value(s, 'mqt_clients_maximum')).toBeGreaterThanOrEqual(2);
    expect(value(s, 'mqt_retained_messages')).toBe(1);
    expect(value(s, 'mqt_subscriptions')).toBe(2);
    expect(value(s, 'mqt_connects_refused_total', { reason: '0x87', name: 'Not authorized' })).toBe(1);
    expect(value(s, 'mqt_queue_bytes')).toBeGreaterThan(0);
    expect(value(s, 'mqt_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(value(s, 'mqt_uptime_seconds')).toBeGreaterThanOrEqual(0);
    // The offline session holds the 3 QoS 1 messages (QoS 0 is not queued offline): le=10 and above count it, le=1 does not.
    expect(value(s, 'mqt_session_queue_depth_bucket', { le: '0' })).toBe(2);
    expect(value(s, 'mqt_session_queue_depth_bucket', { le: '1' })).toBe(2);
    expect(value(s, 'mqt_session_queue_depth_bucket', { le: '10' })).toBe(3);
    expect(value(s, 'mqt_session_queue_depth_sum')).toBe(3);
    expect(after.types.get('mqt_store_commit_seconds')).toBe('histogram');
    expect(value(s, 'mqt_store_commit_seconds_count')).toBe(0);
  });

  it('turns the commit latency counts into cumulative buckets in seconds', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    broker.stats.commitTook(0.2);
    broker.stats.commitTook(3);
    broker.stats.commitTook(9000);
    const { samples } = parseExposition(await (await admin.get('/metrics')).text());
    expect(value(samples, 'mqt_store_commit_seconds_bucket', { le: '0.0005' })).toBe(1);
    expect(value(samples, 'mqt_store_commit_seconds_bucket', { le: '0.005' })).toBe(2);
    expect(value(samples, 'mqt_store_commit_seconds_bucket', { le: '2.5' })).toBe(2);
    expect(value(samples, 'mqt_store_commit_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(value(samples, 'mqt_store_commit_seconds_sum')).toBeCloseTo(9.0032, 6);
  });
});
