/**
 * MQTT 3.1.1 and 5.0 sections 3.8.1 and 3.8.3, the broker's side: the SUBSCRIBEs it must
 * treat as malformed (or as a Protocol Error) and close on, without a SUBACK and without
 * subscribing anything. Raw bytes, as the rules are about bytes.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

/** A SUBSCRIBE (packet id 1) from raw parts: fixed-header byte, then each filter's bytes and options byte. */
function rawSubscribe(version: ProtocolVersion, entries: [number[], number][], first = 0x82): Buffer {
  const body = [0, 1, ...(version === 5 ? [0] : [])];
  for (const [filter, options] of entries) body.push(filter.length >> 8, filter.length & 0xff, ...filter, options);
  return Buffer.from([first, body.length, ...body]);
}

const ascii = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/**
 * Sends `bytes` on a connected client and expects the close: 5.0 with DISCONNECT `code` first,
 * 3.1.1 with nothing; no SUBACK either way, and no subscription made.
 */
async function expectClosedOn(broker: Broker, version: ProtocolVersion, bytes: Buffer, code: number): Promise<void> {
  const { client } = await connect(broker, { clientId: `c${Math.random()}`, protocolVersion: version });
  client.sendRaw(bytes);
  if (version === 5) expect((await client.expect('disconnect')).reasonCode).toBe(code);
  await client.expectClosed();
  expect(broker.inspect.subscriptionCount()).toBe(0);
}

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

describe('SUBSCRIBE the broker must close on', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 and 5.0 [MQTT-3.8.1-1]: fixed-header flags other than 0010 are malformed → close
    // (5.0: DISCONNECT 0x81 first). The same body with 0010 is accepted, so the flags decide.
    it(`${name}: closes on reserved fixed-header flags other than 0010`, async (ctx) => {
      const broker = brokerFor(ctx);
      for (const first of [0x80, 0x83, 0x86, 0x8a]) {
        await expectClosedOn(broker, version, rawSubscribe(version, [[ascii('t'), 0]], first), ReasonCode.MalformedPacket);
      }
      const { client } = await connect(broker, { clientId: 'ok', protocolVersion: version });
      client.sendRaw(rawSubscribe(version, [[ascii('t'), 0]]));
      expect((await client.expect('suback')).reasonCodes).toEqual([0]);
    });

    // 3.1.1 [MQTT-3.8.3-3] "A SUBSCRIBE packet with no payload is a protocol violation"; 5.0
    // [MQTT-3.8.3-2] at least one filter, else a Protocol Error (DISCONNECT 0x82).
    it(`${name}: closes on a SUBSCRIBE without a topic filter`, async (ctx) => {
      const broker = brokerFor(ctx);
      await expectClosedOn(broker, version, rawSubscribe(version, []), ReasonCode.ProtocolError);
    });

    // 3.1.1 and 5.0 [MQTT-3.8.3-1]: a filter is a UTF-8 Encoded String; one that is not well
    // formed UTF-8 (0xFF, an overlong NUL, a lone continuation byte) is a malformed packet.
    it(`${name}: closes on a topic filter that is not well-formed UTF-8`, async (ctx) => {
      const broker = brokerFor(ctx);
      for (const filter of [[0x61, 0xff], [0xc0, 0x80], [0x61, 0x2f, 0x80]]) {
        await expectClosedOn(broker, version, rawSubscribe(version, [[ascii('ok'), 0], [filter, 0]]), ReasonCode.MalformedPacket);
      }
    });
  }

  // The sending side, for our own clients (the bridge and bench send SUBSCRIBE through this
  // encoder): 3.1.1 and 5.0 [MQTT-3.8.1-1] flags 0010; [MQTT-3.8.3-1] filters only as well-formed
  // UTF-8 (a lone surrogate is refused, not replaced); 3.1.1 [MQTT-3.8.3-3] / 5.0 [MQTT-3.8.3-2]
  // never a SUBSCRIBE without a filter.
  it('our encoder writes flags 0010 and refuses an empty SUBSCRIBE or a filter that is not UTF-8', () => {
    for (const version of [4, 5] as const) {
      expect(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1 }] }, version)[0]).toBe(0x82);
      expect(() => encode({ type: 'subscribe', packetId: 1, subscriptions: [] }, version)).toThrow(MqttError);
      expect(() => encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/\ud800', qos: 0 }] }, version)).toThrow(MqttError);
    }
  });

  // 3.1.1 [MQTT-3.8.3-4]: reserved bits of the requested-QoS byte set, or QoS 3, are malformed → close.
  it('3.1.1: closes on requested QoS 3 or a reserved bit of the QoS byte', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const options of [0x03, 0x04, 0x08, 0x40, 0x80]) {
      await expectClosedOn(broker, 4, rawSubscribe(4, [[ascii('t'), 1], [ascii('u'), options]]), ReasonCode.MalformedPacket);
    }
  });

  // 5.0 [MQTT-3.8.3-5]: reserved bits 6 and 7 of the Subscription Options → malformed, DISCONNECT 0x81.
  it('5.0: closes on a reserved bit of the Subscription Options with DISCONNECT 0x81', async (ctx) => {
    const broker = brokerFor(ctx);
    for (const options of [0x40, 0x80, 0xc1]) {
      await expectClosedOn(broker, 5, rawSubscribe(5, [[ascii('t'), 1], [ascii('u'), options]]), ReasonCode.MalformedPacket);
    }
  });
});
