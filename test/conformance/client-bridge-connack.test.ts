/**
 * MQTT 5.0 CONNACK rules that bind a client (section 3.2.2), kept by the bridge: our broker's
 * client at the remote, on our codec (src/core/bridge: engine.ts, flight.ts). A fake remote
 * answers the bridge's CONNECT the way each rule is about and records what it is sent, one
 * array per connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnackPacket, Packet, PublishPacket } from '../../src/core/codec/types.js';
import { connect } from '../helpers/broker-client.js';
import { startFakeBroker, type FakeBroker, type FakeClient } from '../helpers/fake-broker.js';
import { bridgeOptions, localBroker, until, type Local } from '../bridge/setup.js';

let remote: FakeBroker | undefined;
let local: Local | undefined;
afterEach(async () => {
  await local?.stop();
  await remote?.close();
  local = remote = undefined;
});

interface Remote {
  connections: Packet[][];
  clients: FakeClient[];
  closed: FakeClient[];
}

/**
 * A fake remote: `connack(n)` answers the n-th CONNECT (1 first); `onPacket` may answer what
 * follows itself (true), else the fake's plain answers (PUBLISH gets none).
 */
async function fakeRemote(connack: (n: number) => Omit<ConnackPacket, 'type'>, onPacket?: (p: Packet, n: number, client: FakeClient) => boolean): Promise<Remote> {
  const r: Remote = { connections: [], clients: [], closed: [] };
  remote = await startFakeBroker({
    onPacket(p, client) {
      if (p.type === 'connect') {
        r.connections.push([]);
        r.clients.push(client);
      }
      const n = r.clients.indexOf(client) + 1;
      r.connections[n - 1]!.push(p);
      if (p.type === 'connect') {
        client.send({ type: 'connack', ...connack(n) });
        return true;
      }
      return onPacket?.(p, n, client) ?? false;
    },
    onClose: (client) => void r.closed.push(client),
  });
  return r;
}

const OUT = { pattern: 'out/#', direction: 'out' as const, qos: 2 as const, localPrefix: '', remotePrefix: '' };
const IN = { pattern: 'in/#', direction: 'in' as const, qos: 1 as const, localPrefix: '', remotePrefix: '' };

describe('the bridge as an MQTT 5.0 client: what the remote’s CONNACK says', () => {
  // [MQTT-3.2.2-4] with a clean connect the bridge has no session at the remote: Session Present 1
  // makes it close that connection (nothing sent after CONNECT), say so, and retry as after any
  // failed connect; the next CONNACK (Session Present 0) is taken.
  it('closes a clean connection answered with Session Present 1, logs it and retries [MQTT-3.2.2-4]', async () => {
    const r = await fakeRemote((n) => ({ sessionPresent: n === 1, reasonCode: 0 }));
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, cleanSession: true, restartTimeout: { base: 0.05 }, topics: [OUT, IN] }));
    await until(() => bridge.status().connected && r.connections[1]!.some((p) => p.type === 'subscribe'), 'the bridge to connect and subscribe the second time');
    expect(r.connections[0]!.map((p) => p.type)).toEqual(['connect']);
    expect(r.closed).toContain(r.clients[0]);
    expect(local.lines).toContain(`info: Bridge b1: connecting to 127.0.0.1:${remote!.port} failed: the remote answered a clean connect with Session Present 1, a session the bridge cannot have there; closing the connection`);
  });

  // [MQTT-3.2.2-5] a client with session state that gets Session Present 0 discards it: after the
  // remote forgot the bridge's session, the unacknowledged QoS 1 PUBLISH and the QoS 2 flow waiting
  // for PUBCOMP are not resumed (no DUP re-send, no PUBREL of the old id) but sent as new messages.
  it('discards its in-flight state with the remote when a reconnect gets Session Present 0 [MQTT-3.2.2-5]', async () => {
    const r = await fakeRemote(
      () => ({ sessionPresent: false, reasonCode: 0 }),
      (p, n, client) => {
        if (p.type === 'pubrel') return n === 1; // the first connection never completes QoS 2
        if (p.type !== 'publish' || p.qos === 0) return false;
        if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId! });
        else if (n > 1) client.send({ type: 'puback', packetId: p.packetId! });
        return true;
      },
    );
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, restartTimeout: { base: 0.05 }, topics: [OUT] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    const { client: pub } = await connect(local.broker, { clientId: 'pub' });
    for (const [text, qos] of [['held', 1], ['two', 2]] as const) {
      pub.publish(`out/${text}`, text, { qos });
      await pub.next(); // PUBACK or PUBREC
    }
    await until(() => r.connections[0]!.some((p) => p.type === 'pubrel'), 'the QoS 2 flow at PUBREL');
    r.clients[0]!.socket.destroy();
    const publishes = (n: number): PublishPacket[] => (r.connections[n] ?? []).filter((p): p is PublishPacket => p.type === 'publish');
    await until(() => publishes(1).length === 2, () => `both messages again; got ${JSON.stringify(r.connections[1]?.map((p) => p.type))}`);
    await until(() => r.connections[1]!.some((p) => p.type === 'pubrel'), 'the new QoS 2 flow at PUBREL');
    expect(publishes(1).map((p) => [p.payload.toString(), p.qos, p.dup])).toEqual([
      ['held', 1, false],
      ['two', 2, false],
    ]);
    // The only PUBREL of the new connection is the new QoS 2 flow's, after its PUBLISH.
    const again = r.connections[1]!.filter((p) => p.type === 'publish' || p.type === 'pubrel');
    expect(again.map((p) => p.type)).toEqual(['publish', 'publish', 'pubrel']);
    expect(again[2]).toMatchObject({ packetId: publishes(1)[1]!.packetId });
  });

  // [MQTT-3.2.2-11] nothing above the remote's Maximum QoS; [MQTT-3.2.2-14] with Retain Available 0,
  // no PUBLISH with RETAIN 1; [MQTT-3.2.2-18] with no Topic Alias Maximum, no Topic Alias. A retained
  // QoS 2 message published locally reaches the remote at QoS 1, not retained, without an alias.
  it('caps at the remote’s Maximum QoS, drops RETAIN when Retain Available is 0, sends no Topic Alias [MQTT-3.2.2-11] [MQTT-3.2.2-14] [MQTT-3.2.2-18]', async () => {
    const r = await fakeRemote(
      () => ({ sessionPresent: false, reasonCode: 0, properties: { maximumQoS: 1, retainAvailable: 0 } }),
      (p, _n, client) => {
        if (p.type !== 'publish') return false;
        if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId! });
        if (p.qos === 2) client.send({ type: 'pubrec', packetId: p.packetId! });
        return true;
      },
    );
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, topics: [OUT] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    const { client: pub } = await connect(local.broker, { clientId: 'pub' });
    for (const [text, qos] of [['a', 2], ['b', 1], ['c', 0]] as const) pub.publish(`out/${text}`, text, { qos, retain: true });
    const publishes = (): PublishPacket[] => r.connections.flat().filter((p): p is PublishPacket => p.type === 'publish');
    await until(() => publishes().length === 3, 'the three messages at the remote');
    expect(publishes().map((p) => [p.payload.toString(), p.qos, p.retain, p.properties?.topicAlias])).toEqual([
      ['a', 1, false, undefined],
      ['b', 1, false, undefined],
      ['c', 0, false, undefined],
    ]);
    expect(r.connections).toHaveLength(1);
  });

  // [MQTT-3.2.2-17] no Topic Alias above the remote's Topic Alias Maximum: the bridge sends none at
  // all, also to a remote that would take some, over several topics.
  it('sends no Topic Alias to a remote with a Topic Alias Maximum [MQTT-3.2.2-17]', async () => {
    const r = await fakeRemote(() => ({ sessionPresent: false, reasonCode: 0, properties: { topicAliasMaximum: 1 } }));
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, topics: [OUT] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    const { client: pub } = await connect(local.broker, { clientId: 'pub' });
    for (const text of ['a', 'b', 'a', 'b']) pub.publish(`out/${text}`, text);
    const publishes = (): PublishPacket[] => r.connections.flat().filter((p): p is PublishPacket => p.type === 'publish');
    await until(() => publishes().length === 4, 'the four messages at the remote');
    expect(publishes().map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['out/a', undefined],
      ['out/b', undefined],
      ['out/a', undefined],
      ['out/b', undefined],
    ]);
  });

  // [MQTT-3.3.4-8] a full send window delays only PUBLISH: with the remote's Receive Maximum 1
  // used up by an unacknowledged QoS 1 PUBLISH, the bridge still acknowledges the remote's own
  // QoS 1 PUBLISH (once our broker took it) and still sends PINGREQ on the 1 s keep-alive.
  it('acknowledges and pings while the remote’s Receive Maximum is used up [MQTT-3.3.4-8]', async () => {
    const r = await fakeRemote(
      () => ({ sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 1, serverKeepAlive: 1 } }),
      (p) => p.type === 'publish', // never acknowledged
    );
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, topics: [OUT, IN] }));
    await until(() => bridge.status().connected && r.connections[0]!.some((p) => p.type === 'subscribe'), 'the bridge to connect and subscribe');
    const { client: pub } = await connect(local.broker, { clientId: 'pub' });
    pub.publish('out/first', 'first', { qos: 1 });
    pub.publish('out/second', 'second', { qos: 1 });
    const sent = r.connections[0]!;
    await until(() => sent.some((p) => p.type === 'publish'), 'the first message at the remote');
    r.clients[0]!.send({ type: 'publish', topic: 'in/x', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
    await until(() => sent.some((p) => p.type === 'puback' && p.packetId === 7), 'the PUBACK of the remote’s message');
    await until(() => sent.some((p) => p.type === 'pingreq'), 'a PINGREQ', 3000);
    // The window held the second message back all along.
    expect(sent.filter((p) => p.type === 'publish').map((p) => (p as PublishPacket).payload.toString())).toEqual(['first']);
  });

  // [MQTT-3.2.2-21] the Server Keep Alive of CONNACK replaces the keep-alive sent: a bridge that
  // asked for 60 s pings a remote that said 1 s within a second or two.
  it('pings on the remote’s Server Keep Alive instead of its own keep-alive [MQTT-3.2.2-21]', async () => {
    const r = await fakeRemote(() => ({ sessionPresent: false, reasonCode: 0, properties: { serverKeepAlive: 1 } }));
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote!.port, { protocolVersion: 5, keepalive: 60, topics: [OUT] }));
    await until(() => bridge.status().connected, 'the bridge to connect');
    expect(r.connections[0]![0]).toMatchObject({ type: 'connect', keepalive: 60 });
    await until(() => r.connections[0]!.some((p) => p.type === 'pingreq'), 'a PINGREQ on the 1 s keep-alive', 3000);
  });
});
