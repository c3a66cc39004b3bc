/**
 * MQTT 3.1.1 rules that bind a client, kept by the bridge: it is our broker's client at the
 * remote and builds its packets itself (src/core/bridge: engine.ts, flight.ts, our codec). A
 * fake remote checks what it sends (CONNECT first, packet ids non-zero and not in use, an
 * unacknowledged PUBLISH and an unfinished PUBREL re-sent after a reconnect with the same id);
 * our broker as the remote judges its keep-alive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/index.js';
import type { Packet, PublishPacket } from '../../src/core/codec/types.js';
import { connect } from '../helpers/broker-client.js';
import { startFakeBroker, type FakeBroker, type FakeClient } from '../helpers/fake-broker.js';
import { bridgeOptions, localBroker, until, type Local } from '../bridge/setup.js';

describe('the bridge as a 3.1.1 client at the remote', () => {
  let remote: FakeBroker | undefined;
  let local: Local | undefined;
  let real: Broker | undefined;
  afterEach(async () => {
    await local?.stop();
    await remote?.close();
    await real?.close();
    local = remote = real = undefined;
  });

  // [MQTT-3.1.2-23] with nothing else to send, the client sends PINGREQ within the keep-alive: an
  // idle bridge with keep-alive 1 s outlives our broker's 1.5 × keep-alive at the remote, on the
  // one connection it opened.
  it('keeps an idle connection alive at a remote that enforces the keep-alive', async () => {
    real = createBroker();
    const [l] = await real.listen({ port: 0, host: '127.0.0.1' });
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(l!.port, { keepalive: 1, topics: [{ pattern: 'idle/#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => real!.inspect.client('mqt.b1')?.connected === true, 'the bridge at the remote');
    const since = real.inspect.client('mqt.b1')!.connectedAt;
    // Past 1.5 × keep-alive, with a margin for the timers: a bridge that did not ping is gone by then.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(real.inspect.client('mqt.b1')).toMatchObject({ connected: true, connectedAt: since });
    expect(bridge.status().connected).toBe(true);
    expect(local.lines.filter((line) => line.includes('disconnected'))).toEqual([]);
  });

  // [MQTT-3.1.0-1] CONNECT first on each connection; [MQTT-2.3.1-1] [MQTT-2.3.1-2] each new QoS > 0
  // PUBLISH and each SUBSCRIBE has a non-zero id not in use; [MQTT-2.3.1-3] a re-sent packet keeps
  // its id: after a reconnect the unacknowledged QoS 1 PUBLISH comes again with its id (DUP set) and
  // the QoS 2 flow waiting for PUBCOMP goes on with a PUBREL of its id.
  it('sends CONNECT first, uses ids not in use, and re-sends with the same ids after a reconnect', async () => {
    const violations: string[] = [];
    const connections: Packet[][] = [];
    /** Ids the bridge's session has in use at the remote: payload by id. */
    const inUse = new Map<number, string>();
    const firstIds = new Map<string, number>();
    let current: FakeClient | undefined;
    remote = await startFakeBroker({
      onPacket(p, client) {
        if (client !== current) {
          current = client;
          connections.push([]);
          if (p.type !== 'connect') violations.push(`first packet ${p.type}`);
        }
        connections.at(-1)!.push(p);
        const n = connections.length;
        if (p.type === 'connect') {
          client.send({ type: 'connack', sessionPresent: n > 1, reasonCode: 0 });
          return true;
        }
        if (p.type === 'subscribe' && p.packetId === 0) violations.push('SUBSCRIBE with id 0');
        if (p.type === 'pubrel') {
          // The first connection never completes the QoS 2 flow: PUBCOMP only after the reconnect.
          if (n === 1) return true;
          inUse.delete(p.packetId);
          return false;
        }
        if (p.type !== 'publish' || p.qos === 0) return false;
        const id = p.packetId ?? 0;
        const text = p.payload.toString();
        if (id === 0) violations.push(`${text}: packet id 0`);
        const holder = inUse.get(id);
        if (holder !== undefined && !(holder === text && p.dup)) violations.push(`${text}: id ${id} in use by ${holder}`);
        inUse.set(id, text);
        if (!firstIds.has(text)) firstIds.set(text, id);
        if (p.qos === 2) {
          client.send({ type: 'pubrec', packetId: id });
          return true;
        }
        // On the first connection 'held' gets no PUBACK; the connection is cut instead.
        if (n === 1 && text === 'held') return true;
        inUse.delete(id);
        client.send({ type: 'puback', packetId: id });
        return true;
      },
    });
    local = await localBroker();
    const bridge = local.bridge(
      bridgeOptions(remote.port, {
        restartTimeout: { base: 0.05 },
        topics: [
          { pattern: 'ids/#', direction: 'out', qos: 2, localPrefix: '', remotePrefix: '' },
          { pattern: 'back/#', direction: 'in', qos: 1, localPrefix: '', remotePrefix: '' },
        ],
      }),
    );
    await until(() => bridge.status().connected, 'the bridge to connect');
    const { client: pub } = await connect(local.broker, { clientId: 'pub' });
    for (const [text, qos] of [['one', 1], ['held', 1], ['two', 2], ['three', 1]] as const) {
      pub.publish(`ids/${text}`, text, { qos });
      await pub.next(); // PUBACK or PUBREC
    }
    await until(() => connections[0]!.some((p) => p.type === 'pubrel') && firstIds.has('three'), 'the first flows at the remote');
    current!.socket.destroy();
    await until(() => connections.length === 2 && inUse.size === 0, () => `the re-sends after the reconnect; in use ${JSON.stringify([...inUse])}`);
    const again = connections[1]!;
    const resent = again.find((p): p is PublishPacket => p.type === 'publish' && p.payload.toString() === 'held');
    expect(resent).toMatchObject({ packetId: firstIds.get('held'), dup: true, qos: 1 });
    expect(again).toContainEqual({ type: 'pubrel', packetId: firstIds.get('two') });
    // Nothing acknowledged is sent again.
    expect(again.filter((p) => p.type === 'publish').map((p) => (p as PublishPacket).payload.toString())).toEqual(['held']);
    pub.publish('ids/four', 'four', { qos: 1 });
    await until(() => firstIds.has('four') && inUse.size === 0, 'the next message');
    expect(violations).toEqual([]);
    expect(connections.every((c) => c.some((p) => p.type === 'subscribe'))).toBe(true);
  });
});
