/** Keep-alive: the broker closes a silent connection after 1.5 × Keep Alive; PINGREQ, activity, Server Keep Alive. */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { brokerFor, connect, openClient } from '../helpers/broker-client.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Timer-bound: the tests run concurrently, each on its own broker.
describe.concurrent('keep-alive', () => {
  // 3.1.1 [MQTT-3.1.2-24] / 5.0 [MQTT-3.1.2-22]: nothing for 1.5 × Keep Alive → close as if the
  // network failed; 5.0 section 4.13 lets the server say why first, with 0x8D. Keep Alive 0: never.
  // [MQTT-3.2.2-21] a 5.0 client must use the Server Keep Alive, and the broker enforces it.
  it('closes a silent connection after about 1.5 × the (server) keep-alive, and never with keep-alive 0', async (ctx) => {
    const broker = brokerFor(ctx, { maxKeepalive: 1 });
    const { client: v4 } = await connect(broker, { clientId: 'v4', keepalive: 1 });
    const { client: v5, connack } = await connect(broker, { clientId: 'v5', keepalive: 600, protocolVersion: 5 });
    expect(connack.properties?.serverKeepAlive).toBe(1);
    const { client: none } = await connect(broker, { clientId: 'none', keepalive: 0 });
    const started = Date.now();
    await v4.expectClosed(4000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1300);
    expect(elapsed).toBeLessThan(3000);
    expect(v4.received).toEqual([]);
    expect((await v5.expect('disconnect', 1000)).reasonCode).toBe(ReasonCode.KeepAliveTimeout);
    await v5.expectClosed();
    await sleep(200);
    expect(none.closed).toBe(false);
    none.send({ type: 'pingreq' });
    await none.expect('pingresp');
  });

  // [MQTT-3.12.4-1] PINGREQ is answered with PINGRESP.
  it('answers PINGREQ with PINGRESP', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, { keepalive: 60 });
    client.send({ type: 'pingreq' });
    expect(await client.expect('pingresp')).toEqual({ type: 'pingresp' });
  });

  // Any control packet is activity, not only PINGREQ.
  it('keeps a connection open while the client sends something within each period', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client } = await connect(broker, { keepalive: 1 });
    // Four packets 450 ms apart: 1.8 s in all, past the 1.5 s a silent client gets.
    for (let i = 0; i < 4; i++) {
      await sleep(450);
      if (i % 2 === 0) client.publish('t', 'x');
      else {
        client.send({ type: 'pingreq' });
        await client.expect('pingresp');
      }
    }
    expect(client.closed).toBe(false);
  });

  // Before CONNECT there is no keep-alive yet: a connection that never sends CONNECT is closed after connectTimeoutMs.
  it('closes a connection that never sends CONNECT', async (ctx) => {
    const broker = brokerFor(ctx, { connectTimeoutMs: 200 });
    const client = openClient(broker);
    await client.expectClosed(2000);
    expect(client.received).toEqual([]);
  });

  // One timer serves every connection waiting for its CONNECT: each still gets its own deadline.
  it('gives each connection its own CONNECT deadline, and none to one that has connected', async (ctx) => {
    const broker = brokerFor(ctx, { connectTimeoutMs: 300 });
    const t0 = Date.now();
    const first = openClient(broker);
    await sleep(150);
    const second = openClient(broker);
    const { client: connected } = await connect(broker, { clientId: 'in-time', keepalive: 0 });
    await first.expectClosed(2000);
    const firstAt = Date.now() - t0;
    expect(second.closed).toBe(false);
    await second.expectClosed(2000);
    const secondAt = Date.now() - t0;
    expect(firstAt).toBeGreaterThanOrEqual(290);
    expect(secondAt).toBeGreaterThanOrEqual(440);
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(100);
    await sleep(200);
    expect(connected.closed).toBe(false);
    expect(broker.inspect.connectionCount()).toBe(1);
  });
});
