/**
 * MQTT 3.1.1 section 3.1.2.5-3.1.2.7: the will message set by CONNECT. Stored with the
 * connection, published when it ends other than by DISCONNECT, then gone; never when the will
 * flag is 0; its QoS and retain as the flags say. 3.1 (MQIsdp) and 3.1.1 alike.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import type { ProtocolVersion, Will } from '../../src/core/codec/types.js';
import { brokerFor, connect, type TestClient } from '../helpers/broker-client.js';

const VERSIONS: [string, ProtocolVersion][] = [
  ['3.1', 3],
  ['3.1.1', 4],
];

function will(extra: Partial<Will> = {}): Will {
  return { topic: 'will/v', payload: Buffer.from('gone'), qos: 0, retain: false, ...extra };
}

/** A broker and a watcher on will/# at QoS 2. */
async function setup(ctx: TestContext): Promise<{ broker: Broker; watcher: TestClient }> {
  const broker = brokerFor(ctx);
  const { client: watcher } = await connect(broker, { clientId: 'watcher' });
  await watcher.subscribe('will/#', 2);
  return { broker, watcher };
}

describe('3.1.1 section 3.1.2.5: will flag', () => {
  for (const [name, v] of VERSIONS) {
    // [MQTT-3.1.2-8] with the will flag 1, the will is stored with the connection and published
    // when the connection closes, for each way it can close without DISCONNECT: lost, closed by
    // the broker for a protocol violation; and not after a DISCONNECT.
    it(`MQTT ${name}: publishes the will when the connection ends without DISCONNECT, and not after DISCONNECT`, async (ctx) => {
      const { broker, watcher } = await setup(ctx);
      const { client: lost } = await connect(broker, { protocolVersion: v, clientId: 'lost', will: will({ payload: Buffer.from('lost') }) });
      await watcher.expectNothing(20); // stored, not published yet
      lost.kill();
      expect((await watcher.expect('publish')).payload.toString()).toBe('lost');
      const { client: violator } = await connect(broker, { protocolVersion: v, clientId: 'violator', will: will({ payload: Buffer.from('violation') }) });
      violator.sendRaw([0x00, 0x00]); // packet type 0: malformed, the broker closes
      await violator.expectClosed();
      expect((await watcher.expect('publish')).payload.toString()).toBe('violation');
      const { client: polite } = await connect(broker, { protocolVersion: v, clientId: 'polite', will: will({ payload: Buffer.from('polite') }) });
      await polite.disconnect();
      await watcher.expectNothing(50);
    });

    // [MQTT-3.1.2-10] the will is removed from the session state once published, or once DISCONNECT
    // arrived: a Clean Session 0 session resumed without a will and lost again publishes nothing.
    it(`MQTT ${name}: the will is gone once published, and once DISCONNECT arrived`, async (ctx) => {
      const { broker, watcher } = await setup(ctx);
      const { client: first } = await connect(broker, { protocolVersion: v, clientId: 'once', clean: false, will: will({ payload: Buffer.from('once') }) });
      first.kill();
      expect((await watcher.expect('publish')).payload.toString()).toBe('once');
      const { client: again, connack } = await connect(broker, { protocolVersion: v, clientId: 'once', clean: false });
      expect(connack.sessionPresent).toBe(true);
      again.kill();
      await again.closedPromise;
      await watcher.expectNothing(50);
      const { client: polite } = await connect(broker, { protocolVersion: v, clientId: 'bye', clean: false, will: will({ payload: Buffer.from('bye') }) });
      await polite.disconnect();
      const { client: back } = await connect(broker, { protocolVersion: v, clientId: 'bye', clean: false });
      back.kill();
      await back.closedPromise;
      await watcher.expectNothing(50);
    });

    // [MQTT-3.1.2-10] the will is removed on receipt of DISCONNECT, also when the same read carries
    // a malformed packet after it: the DISCONNECT came first and counts.
    it(`MQTT ${name}: a DISCONNECT read together with a malformed packet after it still discards the will`, async (ctx) => {
      const { broker, watcher } = await setup(ctx);
      const { client } = await connect(broker, { protocolVersion: v, clientId: 'leaving', will: will({ payload: Buffer.from('must not') }) });
      client.sendRaw([0xe0, 0, 0x00, 0x00]);
      await client.expectClosed();
      await watcher.expectNothing(100);
    });

    // [MQTT-3.1.2-12] with the will flag 0 nothing is published when the connection ends, however it ends.
    it(`MQTT ${name}: publishes nothing for a connection without a will, however it ends`, async (ctx) => {
      const { broker, watcher } = await setup(ctx);
      await watcher.subscribe('#', 2);
      const { client: lost } = await connect(broker, { protocolVersion: v, clientId: 'nowill' });
      lost.kill();
      await lost.closedPromise;
      const { client: violator } = await connect(broker, { protocolVersion: v, clientId: 'nowill2' });
      violator.sendRaw([0x00, 0x00]);
      await violator.expectClosed();
      await watcher.expectNothing(100);
      expect(broker.inspect.retainedCount()).toBe(0);
    });

    // [MQTT-3.1.2-9] with the will flag 1 the will QoS and will retain are used: the will goes out
    // at its QoS; [MQTT-3.1.2-16] will retain 0: published as a non-retained message (not kept
    // for later subscribers); [MQTT-3.1.2-17] will retain 1: published retained, and kept.
    it(`MQTT ${name}: publishes the will at its QoS, retained exactly when will retain is 1`, async (ctx) => {
      const { broker, watcher } = await setup(ctx);
      const { client: plain } = await connect(broker, { protocolVersion: v, clientId: 'plain', will: will({ topic: 'will/plain', qos: 1, retain: false }) });
      plain.kill();
      const m = await watcher.receive();
      expect(m).toMatchObject({ topic: 'will/plain', qos: 1, retain: false });
      const { client: kept } = await connect(broker, { protocolVersion: v, clientId: 'kept', will: will({ topic: 'will/kept', qos: 2, retain: true, payload: Buffer.from('stays') }) });
      kept.kill();
      const r = await watcher.receive();
      // A live subscriber sees retain 0 on a retained message it was subscribed for (3.3.1.3);
      // what proves retention is the late subscriber below.
      expect(r).toMatchObject({ topic: 'will/kept', qos: 2 });
      const { client: late } = await connect(broker, { clientId: 'late' });
      await late.subscribe('will/#', 2);
      const got = await late.receive();
      expect(got).toMatchObject({ topic: 'will/kept', retain: true, qos: 2 });
      expect(got.payload.toString()).toBe('stays');
      await late.expectNothing(50); // will/plain was not retained
      expect(broker.inspect.retainedCount()).toBe(1);
    });
  }
});
