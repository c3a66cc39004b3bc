/**
 * A network partition between a client and the broker: a FaultProxy stops forwarding in both
 * directions and keeps both TCP sockets open, so neither end hears a FIN or RST; only the
 * broker's keep-alive can end it. With Keep Alive 1 s:
 * - the broker closes the connection 1.5 × Keep Alive after the last packet it got, not before
 *   [MQTT-3.1.2-24] (5.0 [MQTT-3.1.2-22]), while pings that do get through keep it open;
 * - the will goes out then (3.1.1), or once its Will Delay Interval has passed after that (5.0),
 *   never during the partition before the close [MQTT-3.1.2-8];
 * - the persistent session outlives the connection: QoS 1/2 messages published meanwhile (some
 *   written to the dead socket, some queued after the close) all arrive when the client comes
 *   back, with Session Present 1 [MQTT-3.2.2-2], QoS 2 exactly once;
 * - 5.0: a reconnect within the will delay cancels the will [MQTT-3.1.3-9].
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectPacket, ProtocolVersion, PublishPacket } from '../../src/core/codec/types.js';
import { until } from '../helpers/broker-client.js';
import { brokerEvent, startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { FaultProxy } from './fault-proxy.js';
import { publishQos2, Qos2Receiver, serveReceiver } from './qos2-peers.js';
import { keepPinging, killAllClients, tcpConnect } from './tcp-client.js';

const KEEPALIVE_S = 1;
const PERIOD_MS = KEEPALIVE_S * 1500;
const WILL_DELAY_S = 2;
/** Timers may fire a millisecond or so early; nothing here is judged closer than this. */
const EARLY_MS = 50;
/** How late a deadline may be on a loaded, shared machine before we call it missed. */
const LATE_MS = 4000;
const TIMEOUT = 40_000;

let started: StartedBroker;
let proxy: FaultProxy;
const stops: (() => void)[] = [];
beforeEach(async () => {
  started = await startBroker();
  proxy = await FaultProxy.start(started.port);
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  killAllClients();
  await proxy.stop();
  await started.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function victimConnect(version: ProtocolVersion, clean: boolean, willDelay: number | undefined): Partial<ConnectPacket> {
  const will = { topic: 'will/victim', payload: Buffer.from('lost'), qos: 1 as const, retain: false, ...(willDelay === undefined ? {} : { properties: { willDelayInterval: willDelay } }) };
  const session = version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {};
  return { protocolVersion: version, clientId: 'victim', clean, keepalive: KEEPALIVE_S, will, ...session };
}

/** A watcher of the will topic, connected straight to the broker; `wills` get the arrival time of each will. */
async function willWatcher(): Promise<{ wills: number[] }> {
  const { client } = await tcpConnect(started.port, { clientId: 'watcher' });
  await client.subscribe('will/#', 0);
  const wills: number[] = [];
  const watch = async (): Promise<void> => {
    for (;;) {
      const p = await client.next(60_000).catch(() => undefined);
      if (p === undefined) return;
      if (p.type === 'publish') wills.push(Date.now());
    }
  };
  void watch();
  return { wills };
}

for (const version of [4, 5] as const) {
  const v = version === 5 ? 'MQTT 5.0' : 'MQTT 3.1.1';
  describe(`${v}: a partition (both directions paused, sockets open)`, () => {
    it(`is ended by keep-alive 1.5 × Keep Alive after the last packet [${version === 5 ? 'MQTT-3.1.2-22' : 'MQTT-3.1.2-24'}]; the will fires ${version === 5 ? 'after its delay' : 'then'}, not before; the session resumes with what was published meanwhile [MQTT-3.2.2-2]`, async () => {
      const { wills } = await willWatcher();
      const { client: pub } = await tcpConnect(started.port, { protocolVersion: version, clientId: 'pub' });

      const persistentConnect = (): Partial<ConnectPacket> => victimConnect(version, false, version === 5 ? WILL_DELAY_S : undefined);
      const { client: victim, connack } = await tcpConnect(proxy.port, persistentConnect());
      expect(connack.sessionPresent).toBe(false);
      await victim.subscribe([
        { topicFilter: 'part/q1', qos: 1 },
        { topicFilter: 'part/q2', qos: 2 },
      ]);
      stops.push(keepPinging(victim, 500));
      const link = proxy.last;
      let closedAt = 0;
      let willAt = 0;
      const closed = brokerEvent(started.broker, 'disconnect', (c) => c.clientId === 'victim', 30_000).then(([, reason]) => {
        closedAt = Date.now();
        return reason;
      });
      const willEvent = brokerEvent(started.broker, 'will', (c) => c.clientId === 'victim', 30_000).then(() => {
        willAt = Date.now();
      });

      // Pings that get through keep the connection open well past one period.
      await sleep(PERIOD_MS * 2);
      expect(closedAt).toBe(0);
      expect(started.broker.inspect.session('victim')?.connected).toBe(true);

      link.partition();
      // Published into the partition: written to a socket nobody reads, so in flight, unacknowledged.
      pub.publish('part/q1', 'a1', { qos: 1 });
      pub.publish('part/q1', 'a2', { qos: 1 });
      await pub.expect('puback', 5000);
      await pub.expect('puback', 5000);
      await publishQos2(pub, 'part/q2', 'b1', 100);

      expect(await closed).toBe('keep-alive timeout');
      const lastHeardAt = link.up.lastForwardedAt;
      const silence = closedAt - lastHeardAt;
      expect(silence).toBeGreaterThanOrEqual(PERIOD_MS - EARLY_MS);
      expect(silence).toBeLessThan(PERIOD_MS + LATE_MS);
      // The session outlives the connection, its will pending or sent.
      const offline = started.broker.inspect.session('victim');
      expect(offline).toMatchObject({ connected: false, inflight: 3 });
      expect(offline?.subscriptions.map((s) => s.topicFilter).sort()).toEqual(['part/q1', 'part/q2']);

      // Published after the close: queued for the offline session.
      pub.publish('part/q1', 'a3', { qos: 1 });
      await pub.expect('puback', 5000);
      await publishQos2(pub, 'part/q2', 'b2', 101);
      expect(started.broker.inspect.session('victim')?.queued).toBe(2);

      await willEvent;
      const willDelayMs = willAt - closedAt;
      if (version === 5) {
        // [MQTT-3.1.2-8] after the Will Delay Interval, not before.
        expect(willDelayMs).toBeGreaterThanOrEqual(WILL_DELAY_S * 1000 - EARLY_MS);
        expect(willDelayMs).toBeLessThan(WILL_DELAY_S * 1000 + LATE_MS);
      } else {
        // 3.1.1 has no delay: the will goes out with the close (the same tick: the 'will' event may
        // come just before 'disconnect'), and not during the partition before it.
        expect(willAt - lastHeardAt).toBeGreaterThanOrEqual(PERIOD_MS - EARLY_MS);
        expect(Math.abs(willDelayMs)).toBeLessThan(LATE_MS);
      }
      await until(() => wills.length === 1, 5000, 'the will at the watcher');
      expect(wills[0]! - lastHeardAt).toBeGreaterThanOrEqual(PERIOD_MS - EARLY_MS);

      // The client gives up on the dead link and comes back through a healthy one.
      link.destroy();
      victim.kill();
      const { client: back, connack: again } = await tcpConnect(proxy.port, { ...persistentConnect(), keepalive: 0 });
      expect(again.sessionPresent).toBe(true);
      const receiver = new Qos2Receiver();
      const seen = await serveReceiver(back, receiver, 500);
      // What was in flight comes again with DUP [MQTT-4.4.0-1], then the queue.
      const dups = seen.filter((p): p is PublishPacket => p.type === 'publish' && p.dup).map((p) => p.payload.toString());
      expect(dups.sort()).toEqual(['a1', 'a2', 'b1']);
      expect([...new Set(receiver.qos1)].sort()).toEqual(['a1', 'a2', 'a3']);
      expect(receiver.delivered.sort()).toEqual(['b1', 'b2']);
      await until(() => started.broker.inspect.session('victim')?.inflight === 0, 5000, 'everything acknowledged');
      expect(wills).toHaveLength(1);
    }, TIMEOUT);
  });
}

describe('MQTT 3.1.1: a partition shorter than 1.5 × Keep Alive', () => {
  it('does not end the connection; what was held on both sides goes through when it heals', async () => {
    const { wills } = await willWatcher();
    const { client: victim } = await tcpConnect(proxy.port, victimConnect(4, false, undefined));
    await victim.subscribe('part/q1', 1);
    const link = proxy.last;
    const { client: pub } = await tcpConnect(started.port, { clientId: 'pub' });
    let closed = false;
    void brokerEvent(started.broker, 'disconnect', (c) => c.clientId === 'victim', 30_000).then(
      () => (closed = true),
      () => undefined,
    );
    link.partition();
    // A third of the keep-alive limit, from the last packet, when the link heals.
    const healAt = link.up.lastForwardedAt + PERIOD_MS / 3;
    victim.send({ type: 'pingreq' }); // held in the partition
    pub.publish('part/q1', 'held', { qos: 1 });
    await pub.expect('puback', 5000);
    await sleep(Math.max(0, healAt - Date.now()));
    link.heal();
    // The PUBLISH was written into the partition before the PINGREQ got out of it.
    const m = await victim.expect('publish', 5000);
    expect(m.payload.toString()).toBe('held');
    expect(await victim.expect('pingresp', 5000)).toEqual({ type: 'pingresp' });
    victim.send({ type: 'puback', packetId: m.packetId! });
    await until(() => started.broker.inspect.session('victim')?.inflight === 0, 5000, 'the held message acknowledged');
    expect(closed).toBe(false);
    expect(started.broker.inspect.session('victim')?.connected).toBe(true);
    expect(wills).toEqual([]);
  }, TIMEOUT);
});

describe('MQTT 5.0: a partition healed by a reconnect within the will delay', () => {
  it('the will is not sent [MQTT-3.1.3-9], and the session resumes [MQTT-3.2.2-3]', async () => {
    const { wills } = await willWatcher();
    const willDelay = 3;
    const { client: victim } = await tcpConnect(proxy.port, victimConnect(5, true, willDelay));
    await victim.subscribe('part/q1', 1);
    stops.push(keepPinging(victim, 500));
    const link = proxy.last;
    const closed = brokerEvent(started.broker, 'disconnect', (c) => c.clientId === 'victim', 30_000);
    await sleep(500);
    link.partition();
    expect((await closed)[1]).toBe('keep-alive timeout');
    const closedAt = Date.now();
    expect(started.broker.inspect.session('victim')?.willPending).toBe(true);

    link.destroy();
    victim.kill();
    const { client: back, connack } = await tcpConnect(proxy.port, { ...victimConnect(5, false, willDelay), keepalive: 0 });
    expect(connack.sessionPresent).toBe(true);
    expect(started.broker.inspect.session('victim')?.willPending).toBe(false);
    // Past the will's deadline, with margin: still no will.
    await sleep(Math.max(0, closedAt + willDelay * 1000 + 1000 - Date.now()));
    expect(wills).toEqual([]);
    // The resumed session still routes.
    const { client: pub } = await tcpConnect(started.port, { protocolVersion: 5, clientId: 'pub' });
    pub.publish('part/q1', 'after', { qos: 1 });
    const m = await back.expect('publish', 5000);
    expect(m.payload.toString()).toBe('after');
  }, TIMEOUT);
});
