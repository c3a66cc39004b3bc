/**
 * Client-side rules kept by lwt-test's victim, one of our own raw clients
 * (src/core/client/raw-client.ts, our codec), against fake brokers: MQTT 3.1.1's "close on a
 * protocol violation" (section 4.8: a CONNACK followed by a malformed packet, reserved packet
 * type 0, in the same write; the client closes, and lwt-test fails the mode saying the broker
 * sent it), and MQTT 5.0's Session Present 1 to a clean start (section 3.2.2.1.1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runLwtTest } from '../../src/core/client/lwt-test.js';
import { ConnectError } from '../../src/core/client/diagnose.js';
import { RawClient } from '../../src/core/client/raw-client.js';
import type { ConnectionOptions } from '../../src/core/client/types.js';
import { encode } from '../../src/core/codec/encode.js';
import { startFakeBroker, type FakeBroker, type FakeClient } from '../helpers/fake-broker.js';

/** A packet of the reserved type 0: malformed in every version. */
const MALFORMED = Buffer.from([0x00, 0x00]);

let fake: FakeBroker | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A fake broker whose CONNACK to a client id `victim` matches comes with MALFORMED; the victims' connections, and which closed. */
async function brokerWithMalformed(victim: (clientId: string) => boolean): Promise<{ connection: ConnectionOptions; victims: FakeClient[]; closed: FakeClient[] }> {
  const victims: FakeClient[] = [];
  const closed: FakeClient[] = [];
  fake = await startFakeBroker({
    onPacket(p, client) {
      if (p.type !== 'connect' || !victim(p.clientId)) return false;
      victims.push(client);
      // One write: the CONNACK and the bad packet reach the client in one chunk.
      client.socket.write(Buffer.concat([encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4), MALFORMED]));
      return true;
    },
    onClose: (client) => void closed.push(client),
  });
  const connection: ConnectionOptions = {
    transport: 'mqtt',
    host: '127.0.0.1',
    port: fake.port,
    wsPath: '/mqtt',
    clientId: 'unused',
    keepalive: 60,
    protocolVersion: 4,
    fallback: false,
    clean: true,
    reconnect: false,
    connectTimeoutMs: 2000,
  };
  return { connection, victims, closed };
}

describe('lwt-test’s raw client and a broker’s malformed packet (MQTT 3.1.1)', () => {
  // [MQTT-4.8.0-1] a protocol violation closes the connection it came on: the client closes
  // after the CONNACK, on its own (by 'client'), and says what the codec found.
  it('closes the connection when a malformed packet follows the CONNACK [MQTT-4.8.0-1]', async () => {
    const b = await brokerWithMalformed((id) => id === 'victim');
    const c = await RawClient.connect({ connection: b.connection, clientId: 'victim', protocolVersion: 4, keepalive: 60, clean: true });
    const closed = await c.closed;
    expect(closed).toMatchObject({ by: 'client', malformed: expect.stringMatching(/./) });
    expect(c.malformed).toBe(closed.malformed);
  });

  // [MQTT-4.8.0-1] and lwt-test fails the mode as the broker's fault, in one line: a graceful mode
  // that would otherwise pass (the fake publishes no will) fails, naming the malformed packet.
  it('fails the mode, naming the broker’s malformed packet, once its client closed on it [MQTT-4.8.0-1]', async () => {
    const b = await brokerWithMalformed((id) => id.startsWith('mqt-lwt-test-'));
    const [r] = await runLwtTest({ connection: b.connection, modes: ['graceful'], defaultPayload: true, keepalive: 1, timeoutMs: 200, will: { topic: undefined, payload: Buffer.alloc(0), qos: 0, retain: false } });
    expect(r).toMatchObject({ mode: 'graceful', pass: false, observed: 'no will' });
    expect(r!.problems[0]).toMatch(/^the broker sent the client with the will a malformed packet \([^\n]+\); the client closed the connection$/);
    expect(b.victims).toHaveLength(1);
    expect(b.closed).toContain(b.victims[0]);
  });

  // [MQTT-3.2.2-4] a client without session state (Clean Start 1) that gets Session Present 1
  // closes the connection: the connect fails in one line and the broker sees the close.
  it('5.0: closes a clean connection answered with Session Present 1, failing the connect in one line [MQTT-3.2.2-4]', async () => {
    const closed: FakeClient[] = [];
    const clients: FakeClient[] = [];
    fake = await startFakeBroker({
      onPacket(p, client) {
        if (p.type !== 'connect') return false;
        clients.push(client);
        client.send({ type: 'connack', sessionPresent: true, reasonCode: 0 });
        return true;
      },
      onClose: (client) => void closed.push(client),
    });
    const connection: ConnectionOptions = { transport: 'mqtt', host: '127.0.0.1', port: fake.port, wsPath: '/mqtt', clientId: 'unused', keepalive: 60, protocolVersion: 5, fallback: false, clean: true, reconnect: false, connectTimeoutMs: 2000 };
    const err = await RawClient.connect({ connection, clientId: 'victim', protocolVersion: 5, keepalive: 60, clean: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toBe('the broker answered the clean CONNECT of victim with Session Present 1, a session this client cannot have: lwt-test closed the connection');
    const deadline = Date.now() + 2000;
    while (closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toEqual(clients);
  });
});
