/**
 * The bridge engine against a real mosquitto as the remote: messages out, in and both ways at
 * each QoS with exact counts, topic prefixes, no loops, and what the remote sees of the bridge.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openClient, type TestClient } from '../interop/mqttjs-client.js';
import { needPeers } from '../helpers/peers.js';
import { stopStarted } from './started.js';
import { remoteMosquitto, type Remote } from './remote.js';
import { bridgeOptions, localBroker, publishAll, until, type Local } from './setup.js';

const gate = needPeers('mosquitto');
const N = 200;

/** Collects payloads per topic, and counts. */
function counter(c: TestClient): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  c.client.on('message', (topic, payload) => {
    let list = seen.get(topic);
    if (list === undefined) seen.set(topic, (list = []));
    list.push(payload.toString());
  });
  return seen;
}

describe.skipIf(gate.skip)('bridge to mosquitto', () => {
  let remote: Remote | undefined;
  let local: Local | undefined;
  beforeEach(gate.check);
  afterEach(stopStarted);

  // [MQTT-7.0.0-1] (3.1.1): a broker that also connects out conforms as a client too: the bridge
  // speaks 3.1.1 and 5.0 to mosquitto (which closes on any violation) with exact QoS 0/1/2 counts.
  it.each([4, 5] as const)('forwards out at QoS 0, 1 and 2 with prefixes (remote speaks %i), every message once at QoS 2', async (protocolVersion) => {
    remote = await remoteMosquitto();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote.port, { protocolVersion, topics: [{ pattern: 'q/#', direction: 'out', qos: 2, localPrefix: 'here/', remotePrefix: 'there/' }] }));
    const sub = await openClient(remote.url, { protocolVersion: 5 });
    const seen = counter(sub);
    await sub.client.subscribeAsync('there/#', { qos: 2 });
    await until(() => bridge.status().connected, 'the bridge to connect');
    const pub = await openClient(local.url, { protocolVersion: 5 });
    // One QoS at a time: mosquitto 2.0.11 stalls QoS 1 deliveries to a subscriber when QoS 1 and 2 are mixed fast.
    for (const qos of [0, 1, 2] as const) {
      await publishAll(pub.client, `here/q/${qos}`, N, qos);
      await until(() => (seen.get(`there/q/${qos}`)?.length ?? 0) >= N, () => `${N} messages at QoS ${qos} at the remote, got ${JSON.stringify([...seen].map(([t, l]) => [t, l.length]))}\n${local!.lines.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const qos of [0, 1, 2]) {
      const got = seen.get(`there/q/${qos}`) ?? [];
      expect(got.length, `QoS ${qos}`).toBe(N);
      expect(new Set(got).size, `QoS ${qos} distinct`).toBe(N);
    }
    expect([...seen.keys()].sort()).toEqual(['there/q/0', 'there/q/1', 'there/q/2']);
    expect(bridge.status()).toMatchObject({ connected: true, address: `127.0.0.1:${remote.port}` });
    expect(bridge.status().sent).toBe(3 * N);
  });

  it.each([4, 5] as const)('forwards in at QoS 0, 1 and 2 (remote speaks %i)', async (protocolVersion) => {
    remote = await remoteMosquitto();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote.port, { protocolVersion, topics: [{ pattern: '#', direction: 'in', qos: 2, localPrefix: 'from-remote/', remotePrefix: 'to-mqt/' }] }));
    const sub = await openClient(local.url, { protocolVersion: 5 });
    const seen = counter(sub);
    await sub.client.subscribeAsync('from-remote/#', { qos: 2 });
    await until(() => bridge.status().connected, 'the bridge to connect');
    await remote.subscribed('mqt.b1', 'to-mqt/#');
    const pub = await openClient(remote.url, { protocolVersion: 5 });
    for (const qos of [0, 1, 2] as const) {
      await publishAll(pub.client, `to-mqt/${qos}`, N, qos);
      await until(() => (seen.get(`from-remote/${qos}`)?.length ?? 0) >= N, () => `${N} messages at QoS ${qos} locally, got ${JSON.stringify([...seen].map(([t, l]) => [t, l.length]))}\n${local!.lines.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const qos of [0, 1, 2]) {
      const got = seen.get(`from-remote/${qos}`) ?? [];
      expect(got.length, `QoS ${qos}`).toBe(N);
      expect(new Set(got).size).toBe(N);
    }
    expect(bridge.status().received).toBe(3 * N);
  });

  it.each([4, 5] as const)('both ways on one pattern: a message published once arrives once on each side, no loop (remote speaks %i)', async (protocolVersion) => {
    remote = await remoteMosquitto();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote.port, { protocolVersion, topics: [{ pattern: 'loop/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    const l = await openClient(local.url, { protocolVersion: 5 });
    const r = await openClient(remote.url, { protocolVersion: 5 });
    await l.client.subscribeAsync('loop/#', { qos: 1 });
    await r.client.subscribeAsync('loop/#', { qos: 1 });
    await until(() => bridge.status().connected, 'the bridge to connect');
    await remote.subscribed('mqt.b1', 'loop/#');
    await l.client.publishAsync('loop/a', 'from local', { qos: 1 });
    expect((await r.next()).payload).toBe('from local');
    expect((await l.next()).payload).toBe('from local');
    await r.client.publishAsync('loop/b', 'from remote', { qos: 1 });
    expect((await l.next()).payload).toBe('from remote');
    expect((await r.next()).payload).toBe('from remote');
    await l.expectNothing(500);
    await r.expectNothing(0);
    expect(bridge.status()).toMatchObject({ sent: 1, received: 1 });
  });
});
