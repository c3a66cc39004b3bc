/**
 * The MQTT.js interop client's expectNothing must be able to fail: a connection the broker
 * dropped receives nothing too, and must not pass for a quiet one.
 */
import { describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../helpers/start-broker.js';
import { closeAll, openClient } from '../../interop/mqttjs-client.js';

describe('MQTT.js test client: expectNothing', () => {
  const server = brokerPerTest(closeAll);

  it('resolves while the connection is open and silent', async () => {
    const c = await openClient(server.url, { clientId: 'quiet' });
    await expect(c.expectNothing(50)).resolves.toBeUndefined();
  });

  it('rejects when a message arrives', async () => {
    const c = await openClient(server.url, { clientId: 'sub' });
    await c.client.subscribeAsync('t');
    const waiting = c.expectNothing(300);
    server.broker.publishMessage('t', 'x');
    await expect(waiting).rejects.toThrow(/expected no message, got \["t: x"\]/);
  });

  // A takeover closes the old connection; 5.0 says why with DISCONNECT 0x8E.
  it.each([4, 5] as const)('rejects when the broker closes the connection during the wait (protocol %i)', async (protocolVersion) => {
    const old = await openClient(server.url, { clientId: 'same', protocolVersion });
    const waiting = old.expectNothing(500);
    await openClient(server.url, { clientId: 'same', protocolVersion });
    await expect(waiting).rejects.toThrow(protocolVersion === 5 ? /ended with the broker's DISCONNECT \(reason 0x8e\)/ : /ended with a close/);
  });

  it('rejects when the connection had already ended', async () => {
    const c = await openClient(server.url, { clientId: 'gone' });
    await c.end();
    await expect(c.expectNothing(0)).rejects.toThrow(/ended before with a close/);
  });
});
