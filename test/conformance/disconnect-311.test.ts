/**
 * MQTT 3.1.1 section 3.14 (DISCONNECT), the broker's side, with protocol level 4: a DISCONNECT
 * whose reserved flag bits are not 0 closes the connection and is no normal DISCONNECT (the will
 * goes out), and a normal DISCONNECT discards the will.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

const broker = createBroker();
afterAll(() => broker.close());

/** A client with a will on `will/<clientId>`, and a watcher subscribed to it. */
async function withWill(clientId: string): Promise<{ client: TestClient; watch: TestClient }> {
  const { client: watch } = await connect(broker, { clientId: `${clientId}-watch` });
  await watch.subscribe(`will/${clientId}`, 0);
  const { client } = await connect(broker, { clientId, will: { topic: `will/${clientId}`, payload: Buffer.from('gone'), qos: 0, retain: false } });
  return { client, watch };
}

describe('3.1.1 DISCONNECT reserved bits', () => {
  for (const flags of [0x01, 0x08]) {
    // [MQTT-3.14.1-1] the server validates the reserved bits and disconnects a client that sets
    // one: the connection is closed, and as this is no normal DISCONNECT, the will is published.
    it(`closes on a DISCONNECT with flags 0x${flags.toString(16)} and publishes the will`, async () => {
      const { client, watch } = await withWill(`flags-${flags}`);
      client.sendRaw([0xe0 | flags, 0x00]);
      await client.expectClosed();
      expect(await watch.expect('publish')).toMatchObject({ topic: `will/flags-${flags}` });
    });
  }
});

describe('3.1.1 DISCONNECT and the will', () => {
  // [MQTT-3.14.4-3] a DISCONNECT discards the will: not published when the connection closes,
  // nor later (the session was clean).
  it('discards the will on DISCONNECT', async () => {
    const { client, watch } = await withWill('normal');
    await client.disconnect();
    await watch.expectNothing(150);
    expect(broker.inspect.session('normal')).toBeUndefined();
  });

  // [MQTT-3.14.4-3] also with a kept session (clean session 0): the will is gone with the
  // DISCONNECT, and a later end of the session's next connection has no will to send.
  it('discards the will on DISCONNECT from a client with a kept session', async () => {
    const { client: watch } = await connect(broker, { clientId: 'kept-watch' });
    await watch.subscribe('will/kept', 0);
    const { client } = await connect(broker, { clientId: 'kept', clean: false, will: { topic: 'will/kept', payload: Buffer.from('gone'), qos: 0, retain: false } });
    await client.disconnect();
    await watch.expectNothing(100);
    const { client: back } = await connect(broker, { clientId: 'kept', clean: false });
    back.kill();
    await watch.expectNothing(100);
  });
});
