/**
 * MQTT.js (the client `mqt pub`/`sub` are built on) through our broker, MQTT 3.1.1 and 5.0:
 * QoS 0/1/2, retained messages, wills, persistent sessions, and the WebSocket listener.
 * MQTT 5-only features are in mqttjs-v5.test.ts. MQTT.js is a dependency: nothing to skip.
 */
import { describe, expect, it } from 'vitest';
import { brokerEvent, brokerPerTest } from '../helpers/start-broker.js';
import { closeAll, openClient, within } from './mqttjs-client.js';

describe('MQTT.js through our broker', () => {
  const server = brokerPerTest(closeAll);

  describe.each([4, 5] as const)('protocolVersion %i', (protocolVersion) => {
    // [MQTT-4.3.1-1] [MQTT-4.3.2-1] [MQTT-4.3.3-1] each QoS flow end to end; the publish
    // promise settles on PUBACK / PUBCOMP, so a broken flow times out.
    it.each([0, 1, 2] as const)('QoS %i publish and subscribe', async (qos) => {
      const sub = await openClient(server.url, { protocolVersion });
      const granted = await sub.client.subscribeAsync('mj/qos/+', { qos });
      expect(granted.map((g) => g.qos)).toEqual([qos]);
      const pub = await openClient(server.url, { protocolVersion });
      await pub.client.publishAsync('mj/qos/x', `at ${qos}`, { qos });
      const msg = await sub.next();
      expect(msg).toMatchObject({ topic: 'mj/qos/x', payload: `at ${qos}` });
      expect(msg.packet).toMatchObject({ qos, retain: false, dup: false });
    });

    // [MQTT-3.8.4-8] delivered at the lower of the publish and subscription QoS.
    it('downgrades a QoS 2 message to a QoS 1 subscription', async () => {
      const sub = await openClient(server.url, { protocolVersion });
      await sub.client.subscribeAsync('mj/down', { qos: 1 });
      const pub = await openClient(server.url, { protocolVersion });
      await pub.client.publishAsync('mj/down', 'x', { qos: 2 });
      expect((await sub.next()).packet.qos).toBe(1);
    });

    // [MQTT-3.3.1-5] [MQTT-3.3.1-9] [MQTT-3.3.1-10]
    it('retained: a later subscriber gets it with the retain flag; an empty payload deletes it', async () => {
      const pub = await openClient(server.url, { protocolVersion });
      await pub.client.publishAsync('mj/ret/a', 'kept', { qos: 1, retain: true });
      const sub = await openClient(server.url, { protocolVersion });
      await sub.client.subscribeAsync('mj/ret/#', { qos: 1 });
      const msg = await sub.next();
      expect(msg).toMatchObject({ topic: 'mj/ret/a', payload: 'kept' });
      expect(msg.packet.retain).toBe(true);
      await pub.client.publishAsync('mj/ret/a', '', { qos: 1, retain: true });
      // The deletion itself reaches the existing subscriber, without the retain flag.
      expect((await sub.next()).packet.retain).toBe(false);
      const late = await openClient(server.url, { protocolVersion });
      await late.client.subscribeAsync('mj/ret/#', { qos: 1 });
      await late.expectNothing(200);
    });

    // [MQTT-3.1.2-8] the will on a connection lost without DISCONNECT; [MQTT-3.1.2-10] none after DISCONNECT.
    it('will: published when the client stream is destroyed, not after a clean end', async () => {
      const watcher = await openClient(server.url, { protocolVersion });
      await watcher.client.subscribeAsync('mj/will/#', { qos: 1 });
      const polite = await openClient(server.url, { protocolVersion, will: { topic: 'mj/will/polite', payload: Buffer.from('no'), qos: 1, retain: false } });
      await polite.end();
      const victim = await openClient(server.url, { protocolVersion, will: { topic: 'mj/will/victim', payload: Buffer.from('gone'), qos: 1, retain: false } });
      victim.kill();
      const will = await watcher.next();
      expect(will).toMatchObject({ topic: 'mj/will/victim', payload: 'gone' });
      expect(will.packet.qos).toBe(1);
      await watcher.expectNothing(100);
    });

    // [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2] subscriptions kept and QoS 1 messages queued
    // while the client is away, delivered on return with session present.
    it('persistent session: offline queue delivered on return with session present', async () => {
      const options = protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
      const first = await openClient(server.url, { protocolVersion, clientId: `mj-persist-${protocolVersion}`, ...options });
      expect(first.connack.sessionPresent).toBe(false);
      await first.client.subscribeAsync('mj/queue', { qos: 1 });
      await first.end();
      const pub = await openClient(server.url, { protocolVersion });
      for (const m of ['one', 'two', 'three']) await pub.client.publishAsync('mj/queue', m, { qos: 1 });
      const back = await openClient(server.url, { protocolVersion, clientId: `mj-persist-${protocolVersion}`, ...options });
      expect(back.connack.sessionPresent).toBe(true);
      expect((await back.take(3)).map((m) => m.payload)).toEqual(['one', 'two', 'three']);
    });

    // [MQTT-4.4.0-1] a message not acknowledged before the connection broke is re-sent when the
    // session resumes, with DUP set [MQTT-3.3.1-1].
    it.each([1, 2] as const)('persistent session: an unacknowledged QoS %i message is re-sent with DUP on return', async (qos) => {
      const clientId = `mj-dup-${protocolVersion}-${qos}`;
      const options = { protocolVersion, clientId, clean: false, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const first = await openClient(server.url, options);
      await first.client.subscribeAsync('mj/dup', { qos });
      // Cut the connection as the PUBLISH arrives, before MQTT.js can acknowledge it.
      const arrived = new Promise<void>((resolve) => {
        first.client.on('packetreceive', (p) => {
          if (p.cmd !== 'publish') return;
          first.client.stream.destroy();
          resolve();
        });
      });
      const gone = brokerEvent(server.broker, 'disconnect', (c) => c.clientId === clientId);
      const pub = await openClient(server.url, { protocolVersion });
      await pub.client.publishAsync('mj/dup', 'again', { qos });
      await within(arrived, 5000, 'the first delivery');
      await gone;
      const back = await openClient(server.url, options);
      expect(back.connack.sessionPresent).toBe(true);
      const msg = await back.next();
      expect(msg).toMatchObject({ topic: 'mj/dup', payload: 'again' });
      expect(msg.packet).toMatchObject({ qos, dup: true });
      await back.expectNothing(100);
    });

    // 5.0 section 6: MQTT over WebSocket, binary frames, subprotocol "mqtt", here on path /mqtt.
    it('WebSocket transport: ws:// to tcp and back', async () => {
      const wsSub = await openClient(server.wsUrl, { protocolVersion });
      await wsSub.client.subscribeAsync('mj/ws/in', { qos: 1 });
      const tcpSub = await openClient(server.url, { protocolVersion });
      await tcpSub.client.subscribeAsync('mj/ws/out', { qos: 2 });
      const tcpPub = await openClient(server.url, { protocolVersion });
      await tcpPub.client.publishAsync('mj/ws/in', 'to ws', { qos: 1 });
      expect(await wsSub.next()).toMatchObject({ topic: 'mj/ws/in', payload: 'to ws' });
      await wsSub.client.publishAsync('mj/ws/out', 'from ws', { qos: 2 });
      expect(await tcpSub.next()).toMatchObject({ topic: 'mj/ws/out', payload: 'from ws' });
    });
  });

  it('a 3.1.1 subscriber gets the message of a 5.0 publisher, properties left behind', async () => {
    const sub = await openClient(server.url, { protocolVersion: 4 });
    await sub.client.subscribeAsync('mj/mixed', { qos: 1 });
    const pub = await openClient(server.url, { protocolVersion: 5 });
    await pub.client.publishAsync('mj/mixed', 'across', { qos: 1, properties: { userProperties: { k: 'v' }, contentType: 'text/plain' } });
    const msg = await sub.next();
    expect(msg).toMatchObject({ topic: 'mj/mixed', payload: 'across' });
    expect(msg.packet.properties).toBeUndefined();
  });
});
