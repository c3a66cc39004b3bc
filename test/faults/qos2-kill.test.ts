/**
 * Clients killed at every step of a QoS 2 flow, over real TCP to an in-process broker, in
 * both directions, for MQTT 3.1.1 and 5.0 with a persistent session (Clean Session 0; 5.0
 * Clean Start 0 and Session Expiry 300 s). "Killed" is the socket destroyed with no
 * DISCONNECT at that exact step. The client comes back, resumes the flow as [MQTT-4.4.0-1]
 * says (PUBLISH again with DUP, or PUBREL again, with the original packet id), and:
 * - the subscriber's application got the message exactly once (Qos2Receiver: method B,
 *   delivery on receipt of a PUBLISH with a packet id it does not hold);
 * - both flows complete (PUBCOMP reaches the publisher; nothing left in flight at the broker);
 * - the packet id is free again afterwards: a new PUBLISH with it is a new message [MQTT-4.3.3-12].
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/core/codec/encode.js';
import type { ConnectPacket, ProtocolVersion } from '../../src/core/codec/types.js';
import { until, type TestClient } from '../helpers/broker-client.js';
import { startBroker, type StartedBroker } from '../helpers/start-broker.js';
import { publishQos2, Qos2Receiver, serveReceiver } from './qos2-peers.js';
import { killAllClients, tcpConnect } from './tcp-client.js';

const TOPIC = 'faults/q2';
const ID = 77;
const TIMEOUT = 30_000;

let started: StartedBroker;
beforeEach(async () => {
  started = await startBroker();
});
afterEach(async () => {
  killAllClients();
  await started.stop();
});

function persistent(version: ProtocolVersion, clientId: string): Partial<ConnectPacket> {
  return version === 5 ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 300 } } : { protocolVersion: 4, clientId, clean: false };
}

const ok = (version: ProtocolVersion): { reasonCode?: number } => (version === 5 ? { reasonCode: 0 } : {});

/** A subscriber to TOPIC at QoS 2 whose application state is `receiver`. */
async function subscriber(version: ProtocolVersion, clean: boolean): Promise<TestClient> {
  const { client } = await tcpConnect(started.port, clean ? { protocolVersion: version, clientId: 'sub' } : persistent(version, 'sub'));
  await client.subscribe(TOPIC, 2);
  return client;
}

/** Waits for the broker to notice the killed connection (the session goes offline). */
async function offline(clientId: string): Promise<void> {
  await until(() => started.broker.inspect.session(clientId)?.connected === false, 5000, `${clientId} offline at the broker`);
}

/** Reconnects `clientId` to its persistent session; the broker must say the session is there [MQTT-3.2.2-2] (5.0 [MQTT-3.2.2-3]). */
async function reconnect(version: ProtocolVersion, clientId: string): Promise<TestClient> {
  const { client, connack } = await tcpConnect(started.port, persistent(version, clientId));
  expect(connack.sessionPresent).toBe(true);
  return client;
}

for (const version of [4, 5] as const) {
  const v = version === 5 ? 'MQTT 5.0' : 'MQTT 3.1.1';

  describe(`${v}: publisher killed during QoS 2 (client → broker)`, () => {
    /**
     * The publisher's flow, from its own point of view, killed at `step`; `resume` is what it
     * sends on reconnect for that step. The subscriber is well-behaved and clean.
     */
    async function killedPublisher(step: 'mid-publish' | 'after-publish' | 'after-pubrec' | 'after-pubrel', resume: 'publish' | 'pubrel'): Promise<void> {
      const receiver = new Qos2Receiver();
      const sub = await subscriber(version, true);
      let { client: pub } = await tcpConnect(started.port, persistent(version, 'pub'));
      const packet = { type: 'publish' as const, topic: TOPIC, payload: Buffer.from('m1'), qos: 2 as const, retain: false, dup: false, packetId: ID };
      if (step === 'mid-publish') {
        // Half the PUBLISH on the wire, then the client dies: the broker must not act on a partial packet.
        const bytes = encode(packet, version);
        pub.sendRaw(bytes.subarray(0, bytes.length >> 1));
        await new Promise((r) => setTimeout(r, 50));
        pub.kill();
        await offline('pub');
        expect(started.broker.inspect.session('pub')?.incomingQos2).toBe(0);
      } else {
        pub.send(packet);
        if (step === 'after-publish') {
          // The broker owns the message (its PUBREC is on the way) but the client dies before reading it.
          await until(() => started.broker.inspect.session('pub')?.incomingQos2 === 1, 5000, 'the broker holding the incoming id');
          pub.kill();
        } else {
          expect((await pub.expect('pubrec', 5000)).packetId).toBe(ID);
          if (step === 'after-pubrel') pub.send({ type: 'pubrel', packetId: ID, ...ok(version) });
          pub.kill();
        }
        await offline('pub');
      }
      // Whatever the step, the subscriber got the message at most once so far.
      await serveReceiver(sub, receiver, 200);
      expect(receiver.count('m1')).toBeLessThanOrEqual(1);

      pub = await reconnect(version, 'pub');
      if (resume === 'publish') {
        // [MQTT-4.4.0-1] the unacknowledged PUBLISH again, same id, DUP set [MQTT-3.3.1-1].
        pub.send({ ...packet, dup: true });
        expect((await pub.expect('pubrec', 5000)).packetId).toBe(ID);
      }
      // [MQTT-4.4.0-1] the unacknowledged PUBREL again, same id [MQTT-4.3.3-11].
      pub.send({ type: 'pubrel', packetId: ID, ...ok(version) });
      const comp = await pub.expect('pubcomp', 5000);
      expect(comp.packetId).toBe(ID);
      // 5.0: a PUBREL for an id the broker already released is still completed, with 0x92 Packet Identifier not found.
      if (version === 5) expect(comp.reasonCode ?? 0).toBe(step === 'after-pubrel' ? 0x92 : 0);
      expect(started.broker.inspect.session('pub')?.incomingQos2).toBe(0);

      // [MQTT-4.3.3-12] after PUBCOMP the same id starts a new message.
      await publishQos2(pub, TOPIC, 'm2', ID);
      await serveReceiver(sub, receiver, 300);
      expect(receiver.delivered).toEqual(['m1', 'm2']);
    }

    it('killed mid-PUBLISH (half the packet sent): nothing routed; the PUBLISH re-sent with DUP is delivered once [MQTT-4.4.0-1]', async () => {
      await killedPublisher('mid-publish', 'publish');
    }, TIMEOUT);

    it('killed after PUBLISH, before PUBREC was read: the re-sent DUP PUBLISH gets PUBREC, no second delivery [MQTT-4.3.3-10]', async () => {
      await killedPublisher('after-publish', 'publish');
    }, TIMEOUT);

    it('killed after PUBREC, before PUBREL: PUBREL on reconnect completes it, delivered once [MQTT-4.4.0-1]', async () => {
      await killedPublisher('after-pubrec', 'pubrel');
    }, TIMEOUT);

    it('killed after PUBREC, before PUBREL, re-sending the PUBLISH with DUP: PUBREC again, no second delivery [MQTT-4.3.3-10]', async () => {
      await killedPublisher('after-pubrec', 'publish');
    }, TIMEOUT);

    it('killed after PUBREL, before PUBCOMP: the re-sent PUBREL gets PUBCOMP, delivered once [MQTT-4.3.3-11]', async () => {
      await killedPublisher('after-pubrel', 'pubrel');
    }, TIMEOUT);
  });

  describe(`${v}: subscriber killed during QoS 2 (broker → client)`, () => {
    type SubStep = 'publish-unprocessed' | 'publish-delivered' | 'after-pubrec' | 'pubrel-unprocessed' | 'pubrel-processed' | 'after-pubcomp';

    /**
     * The subscriber killed at `step` of the broker's flow to it; returns the packets the broker
     * sent on reconnect, for the test to check against the step.
     */
    async function killedSubscriber(step: SubStep): Promise<{ resent: string[]; receiver: Qos2Receiver }> {
      const receiver = new Qos2Receiver();
      let sub = await subscriber(version, false);
      const { client: pub } = await tcpConnect(started.port, { protocolVersion: version, clientId: 'pub' });
      await publishQos2(pub, TOPIC, 'm1', 5);

      const p = await sub.expect('publish', 5000);
      expect(p).toMatchObject({ qos: 2, dup: false });
      const id = p.packetId!;
      // publish-unprocessed: the PUBLISH arrived but the client died before its application saw it.
      if (step !== 'publish-unprocessed') receiver.accept(p);
      if (step !== 'publish-unprocessed' && step !== 'publish-delivered') {
        sub.send({ type: 'pubrec', packetId: id, ...ok(version) });
        if (step !== 'after-pubrec') {
          expect((await sub.expect('pubrel', 5000)).packetId).toBe(id);
          if (step !== 'pubrel-unprocessed') receiver.release(id);
          if (step === 'after-pubcomp') sub.send({ type: 'pubcomp', packetId: id, ...ok(version) });
        }
      }
      if (step === 'after-pubcomp') await until(() => started.broker.inspect.session('sub')?.inflight === 0, 5000, 'the delivery completed at the broker');
      sub.kill();
      await offline('sub');

      sub = await reconnect(version, 'sub');
      const seen = await serveReceiver(sub, receiver, 400);
      const resent = seen.map((q) => (q.type === 'publish' ? `publish ${q.packetId} dup=${q.dup}` : `${q.type} ${'packetId' in q ? q.packetId : ''}`));
      // The broker's flow completes: nothing in flight or queued for the subscriber.
      await until(() => started.broker.inspect.session('sub')?.inflight === 0, 5000, 'no delivery left in flight');
      expect(started.broker.inspect.session('sub')?.queued).toBe(0);

      // [MQTT-4.3.3-12] the broker's packet ids are free again: the next message arrives and is new.
      await publishQos2(pub, TOPIC, 'm2', 6);
      await serveReceiver(sub, receiver, 300);
      expect(receiver.delivered).toEqual(['m1', 'm2']);
      return { resent: resent.map((r) => r.replace(String(id), 'ID')), receiver };
    }

    it('killed after the PUBLISH arrived, before its application saw it: the DUP PUBLISH on reconnect is delivered once [MQTT-4.4.0-1]', async () => {
      const { resent } = await killedSubscriber('publish-unprocessed');
      expect(resent).toEqual(['publish ID dup=true', 'pubrel ID']);
    }, TIMEOUT);

    it('killed after delivering the PUBLISH, before sending PUBREC: the DUP PUBLISH on reconnect is not delivered again (method B keeps the id)', async () => {
      const { resent } = await killedSubscriber('publish-delivered');
      expect(resent).toEqual(['publish ID dup=true', 'pubrel ID']);
    }, TIMEOUT);

    it('killed right after sending PUBREC: on reconnect the broker sends PUBREL, never the PUBLISH again [MQTT-4.3.3-6] [MQTT-4.4.0-1]', async () => {
      const { resent } = await killedSubscriber('after-pubrec');
      expect(resent).toEqual(['pubrel ID']);
    }, TIMEOUT);

    it('killed after PUBREL arrived, before it was processed: PUBREL again on reconnect, PUBCOMP completes it [MQTT-4.4.0-1]', async () => {
      const { resent } = await killedSubscriber('pubrel-unprocessed');
      expect(resent).toEqual(['pubrel ID']);
    }, TIMEOUT);

    it('killed after processing PUBREL, before sending PUBCOMP: PUBREL again; PUBCOMP for an id it no longer holds ends the flow [MQTT-4.3.3-11]', async () => {
      const { resent } = await killedSubscriber('pubrel-processed');
      expect(resent).toEqual(['pubrel ID']);
    }, TIMEOUT);

    it('killed after sending PUBCOMP: nothing is re-sent on reconnect [MQTT-4.4.0-1: no re-send at any other time]', async () => {
      const { resent } = await killedSubscriber('after-pubcomp');
      expect(resent).toEqual([]);
    }, TIMEOUT);
  });
}
