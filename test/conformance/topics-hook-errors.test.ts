/**
 * A topic authorization hook that fails (throws, or its promise rejects) while the broker
 * processes a PUBLISH or a SUBSCRIBE is a transient error of the server: MQTT 3.1.1 section 4.8
 * says the connection that packet came on is closed. (The other transient error, a store that
 * cannot commit, is test/broker/persistence.test.ts.) 5.0 does the same with DISCONNECT 0x83
 * first (section 4.13; cited by its own tests).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker({
  log: () => undefined,
  hooks: {
    authorizePublish: (_c, topic) => {
      if (topic === 'boom/sync') throw new Error('acl store down');
      return topic === 'boom/async' ? Promise.reject(new Error('acl store down')) : true;
    },
    authorizeSubscribe: (_c, filter, qos) => (filter === 'boom/#' ? Promise.reject(new Error('acl store down')) : qos),
  },
});
afterAll(() => broker.close());

let ids = 0;
async function client(version: ProtocolVersion): Promise<TestClient> {
  return (await connect(broker, { clientId: `hook-${version}-${ids++}`, protocolVersion: version })).client;
}

/** 3.1.1 closes; 5.0 says DISCONNECT 0x83 Implementation specific error first. */
async function expectEnded(c: TestClient, version: ProtocolVersion): Promise<void> {
  if (version === 5) expect((await c.expect('disconnect')).reasonCode).toBe(ReasonCode.ImplementationSpecificError);
  await c.expectClosed();
}

describe.each([
  ['3.1.1', 4],
  ['5.0', 5],
] as const)('MQTT %s', (name, v) => {
  // [MQTT-4.8.0-2] (3.1.1): a transient error while processing an inbound packet closes the
  // connection it came on; nothing of that packet is routed, and other connections carry on.
  it(`${name}: a failing authorization hook closes the connection of the PUBLISH or SUBSCRIBE it judged`, async () => {
    const watcher = await client(v);
    await watcher.subscribe('#', 1);
    for (const topic of ['boom/sync', 'boom/async']) {
      const pub = await client(v);
      pub.publish(topic, 'x', { qos: 1 });
      await expectEnded(pub, v);
    }
    const sub = await client(v);
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'boom/#', qos: 1, ...(v === 5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0 } : {}) }] });
    await expectEnded(sub, v);
    // Nothing got through, and the broker still serves everyone else.
    const pub = await client(v);
    pub.publish('fine', 'still here', { qos: 1 });
    await pub.expect('puback');
    const got = await watcher.receive();
    expect([got.topic, got.payload.toString()]).toEqual(['fine', 'still here']);
    expect(broker.inspect.connectionCount()).toBe(2);
    for (const c of [watcher, pub]) await c.disconnect();
  });
});
