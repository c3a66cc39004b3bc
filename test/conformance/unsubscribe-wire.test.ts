/**
 * MQTT 3.1.1 and 5.0 sections 3.10.1 and 3.10.3, the broker's side: the UNSUBSCRIBEs it must
 * treat as malformed (or as a Protocol Error) and close on, without an UNSUBACK and without
 * removing anything. Raw bytes, as the rules are about bytes.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import { MqttError } from '../../src/core/codec/errors.js';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

/** An UNSUBSCRIBE (packet id 1) from raw parts: fixed-header byte, then each filter's bytes. */
function rawUnsubscribe(version: ProtocolVersion, filters: number[][], first = 0xa2): Buffer {
  const body = [0, 1, ...(version === 5 ? [0] : [])];
  for (const filter of filters) body.push(filter.length >> 8, filter.length & 0xff, ...filter);
  return Buffer.from([first, body.length, ...body]);
}

const ascii = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/**
 * On a client subscribed to 't', sends `bytes` and expects the close: 5.0 with DISCONNECT
 * `code` first, 3.1.1 with nothing; no UNSUBACK either way, and the subscription still held.
 */
async function expectClosedOn(broker: Broker, version: ProtocolVersion, bytes: Buffer, code: number): Promise<void> {
  const clientId = `c${Math.random()}`;
  const { client } = await connect(broker, { clientId, protocolVersion: version, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
  await client.subscribe('t');
  client.sendRaw(bytes);
  if (version === 5) expect((await client.expect('disconnect')).reasonCode).toBe(code);
  await client.expectClosed();
  expect(broker.inspect.session(clientId)!.subscriptions.map((s) => s.topicFilter)).toEqual(['t']);
}

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

describe('UNSUBSCRIBE the broker must close on', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 and 5.0 [MQTT-3.10.1-1]: fixed-header flags other than 0010 are malformed → close
    // (5.0: DISCONNECT 0x81 first). The same body with 0010 is answered, so the flags decide.
    it(`${name}: closes on reserved fixed-header flags other than 0010`, async (ctx) => {
      const broker = brokerFor(ctx);
      for (const first of [0xa0, 0xa3, 0xa6, 0xaa]) {
        await expectClosedOn(broker, version, rawUnsubscribe(version, [ascii('t')], first), ReasonCode.MalformedPacket);
      }
      const { client } = await connect(broker, { clientId: 'ok', protocolVersion: version });
      client.sendRaw(rawUnsubscribe(version, [ascii('t')]));
      expect((await client.expect('unsuback')).packetId).toBe(1);
    });

    // 3.1.1 and 5.0 [MQTT-3.10.3-2]: at least one filter; an UNSUBSCRIBE with none is a protocol
    // violation (5.0: DISCONNECT 0x82 Protocol Error).
    it(`${name}: closes on an UNSUBSCRIBE without a topic filter`, async (ctx) => {
      const broker = brokerFor(ctx);
      await expectClosedOn(broker, version, rawUnsubscribe(version, []), ReasonCode.ProtocolError);
    });

    // 3.1.1 and 5.0 [MQTT-3.10.3-1]: the filters are UTF-8 Encoded Strings, packed contiguously;
    // one not well-formed (0xFF, an overlong NUL, a lone continuation byte), or a filter whose
    // length runs past the packet, is malformed: nothing before it in the packet is removed.
    it(`${name}: closes on a topic filter that is not well-formed UTF-8 or not packed to the end`, async (ctx) => {
      const broker = brokerFor(ctx);
      for (const filter of [[0x74, 0xff], [0xc0, 0x80], [0x74, 0x80]]) {
        await expectClosedOn(broker, version, rawUnsubscribe(version, [ascii('t'), filter]), ReasonCode.MalformedPacket);
      }
      const overrun = rawUnsubscribe(version, [ascii('t')]);
      const bytes = Buffer.concat([overrun, Buffer.from([0, 5, 0x75])]);
      bytes[1] = bytes[1]! + 3; // a second filter that claims 5 bytes and has 1
      await expectClosedOn(broker, version, bytes, ReasonCode.MalformedPacket);
    });
  }

  // The sending side, for our own clients (the bridge and bench encode through it): 3.1.1 and
  // 5.0 [MQTT-3.10.1-1] flags 0010; [MQTT-3.10.3-1] well-formed UTF-8 filters only (a lone
  // surrogate is refused, not replaced); [MQTT-3.10.3-2] never an UNSUBSCRIBE without a filter.
  it('our encoder writes flags 0010 and refuses an empty UNSUBSCRIBE or a filter that is not UTF-8', () => {
    for (const version of [4, 5] as const) {
      expect(encode({ type: 'unsubscribe', packetId: 1, topicFilters: ['t'] }, version)[0]).toBe(0xa2);
      expect(() => encode({ type: 'unsubscribe', packetId: 1, topicFilters: [] }, version)).toThrow(MqttError);
      expect(() => encode({ type: 'unsubscribe', packetId: 1, topicFilters: ['\udc00/a'] }, version)).toThrow(MqttError);
    }
  });
});
