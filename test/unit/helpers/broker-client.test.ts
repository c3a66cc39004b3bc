/**
 * The broker test client's assertions must be able to fail: each is checked here against a
 * scripted peer on the other end of a duplex pair (or a broker set up to refuse), so a
 * dropped, refused or chatty connection cannot pass for a quiet, healthy one.
 */
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encode } from '../../../src/core/codec/encode.js';
import { Parser } from '../../../src/core/codec/parser.js';
import type { Packet } from '../../../src/core/codec/types.js';
import { brokerFor, connect, TestClient, tryConnect } from '../../helpers/broker-client.js';
import { duplexPair } from '../../helpers/duplex-pair.js';

/** A TestClient and the peer end it talks to, which a test scripts by hand. */
function pair(): { client: TestClient; peer: Duplex; send: (p: Packet) => void } {
  const [clientEnd, peer] = duplexPair();
  peer.on('error', () => undefined);
  return { client: new TestClient(clientEnd, 4), peer, send: (p) => peer.write(encode(p, 4)) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('expectNothing', () => {
  it('resolves when the peer stays silent and open', async () => {
    const { client } = pair();
    await expect(client.expectNothing(50)).resolves.toBeUndefined();
    expect(client.closed).toBe(false);
  });

  it.each([
    ['ends', (peer: Duplex) => peer.end()],
    ['is destroyed', (peer: Duplex) => peer.destroy()],
  ])('rejects, at once, when the peer %s during the wait', async (_how, close) => {
    const { client, peer } = pair();
    // A 5 s wait that ends in a rejection naming the close failed on the close, not on time.
    const waiting = client.expectNothing(5000);
    setTimeout(() => close(peer), 10);
    await expect(waiting).rejects.toThrow(/expected nothing for 5000 ms on an open connection, but the connection closed/);
  });

  it('rejects when the connection closed before the call', async () => {
    const { client, peer } = pair();
    peer.destroy();
    await client.closedPromise;
    await expect(client.expectNothing(50)).rejects.toThrow(/the connection is already closed/);
  });

  it('rejects with the packet when one arrives during the wait', async () => {
    const { client, send } = pair();
    const waiting = client.expectNothing(1000);
    setTimeout(() => send({ type: 'pingresp' }), 10);
    await expect(waiting).rejects.toThrow(/expected nothing, got \{"type":"pingresp"\}/);
  });

  it('rejects with a packet that arrived before the call and was not read', async () => {
    const { client, send } = pair();
    send({ type: 'pingresp' });
    await sleep(20);
    await expect(client.expectNothing(50)).rejects.toThrow(/expected nothing, got \{"type":"pingresp"\}/);
  });
});

describe('next and expectClosed', () => {
  it('next rejects when the connection closes while waiting', async () => {
    const { client, peer } = pair();
    const waiting = client.next(5000);
    setTimeout(() => peer.destroy(), 10);
    await expect(waiting).rejects.toThrow(/connection closed while waiting/);
  });

  it('expectClosed resolves on a close with nothing unread', async () => {
    const { client, peer } = pair();
    setTimeout(() => peer.end(), 10);
    await expect(client.expectClosed(1000)).resolves.toBeUndefined();
  });

  it('expectClosed rejects while the connection stays open', async () => {
    const { client } = pair();
    await expect(client.expectClosed(50)).rejects.toThrow(/still open after 50 ms/);
  });

  // A "closed without CONNACK" test must not pass when a CONNACK came before the close.
  it('expectClosed rejects when packets the test did not read came before the close', async () => {
    const { client, peer, send } = pair();
    send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    setTimeout(() => peer.end(), 10);
    await expect(client.expectClosed(1000)).rejects.toThrow(/after 1 packet\(s\) the test did not read: \{"type":"connack"/);
  });
});

describe('subscribe', () => {
  /** A peer that answers the next SUBSCRIBE with `reasonCodes`. */
  function answerSubscribe(peer: Duplex, send: (p: Packet) => void, reasonCodes: number[]): void {
    const parser = new Parser({ protocolVersion: 4 });
    peer.on('data', (chunk: Buffer) => {
      for (const p of parser.push(chunk)) {
        if (p.type === 'subscribe') send({ type: 'suback', packetId: p.packetId, reasonCodes });
      }
    });
  }

  // A refused subscription receives nothing: expectNothing after it would prove nothing.
  it('rejects a SUBACK that refuses a filter; trySubscribe returns it', async () => {
    const { client, peer, send } = pair();
    answerSubscribe(peer, send, [1, 0x80]);
    await expect(client.subscribe(['a', 'b'], 1)).rejects.toThrow(/SUBACK refused filter 1 with 0x80/);
    expect((await client.trySubscribe(['a', 'b'], 1)).reasonCodes).toEqual([1, 0x80]);
  });

  // [MQTT-3.8.4-6] (5.0), [MQTT-3.8.4-5] (3.1.1)
  it('rejects a SUBACK whose reason codes do not match the filters one to one', async () => {
    const { client, peer, send } = pair();
    answerSubscribe(peer, send, [0]);
    await expect(client.trySubscribe(['a', 'b'])).rejects.toThrow(/SUBACK with 1 reason codes for 2 filters/);
  });

  it('resolves with a SUBACK that grants every filter', async () => {
    const { client, peer, send } = pair();
    answerSubscribe(peer, send, [0, 1]);
    expect((await client.subscribe(['a', 'b'], 1)).reasonCodes).toEqual([0, 1]);
  });
});

describe('connect', () => {
  it('rejects a refused CONNACK; tryConnect returns it', async (ctx) => {
    const broker = brokerFor(ctx, { hooks: { authenticate: () => false } });
    await expect(connect(broker, { clientId: 'x' })).rejects.toThrow(/CONNACK refused "x" with 0x4/);
    const { connack } = await tryConnect(broker, { clientId: 'y' });
    expect(connack.reasonCode).toBe(4);
  });

  it('resolves with an accepting CONNACK', async (ctx) => {
    const broker = brokerFor(ctx);
    const { client, connack } = await connect(broker, { clientId: 'ok' });
    expect(connack.reasonCode).toBe(0);
    await client.expectNothing(20);
  });
});
