/**
 * MQTT 5.0 section 3.9.2, the broker's side: a SUBACK that refuses a filter says why in a
 * Reason String, which is left out when it would make the SUBACK larger than the client's
 * Maximum Packet Size [MQTT-3.9.2-1]; the SUBACK itself, with every code, still goes out.
 * The broker puts no User Property on a SUBACK [MQTT-3.9.2-2].
 */
import { describe, expect, it } from 'vitest';
import { ReasonCode } from '../../src/core/codec/constants.js';
import { encode } from '../../src/core/codec/encode.js';
import type { Subscription } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

function sub(topicFilter: string, qos: 0 | 1 | 2): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 };
}

/** A granted filter, an invalid one (0x8F), a refused one (0x87) and a granted one. */
const FILTERS = [sub('ok/1', 1), sub('a/#/b', 0), sub('private/x', 1), sub('ok/2', 2)];
const CODES = [1, ReasonCode.TopicFilterInvalid, ReasonCode.NotAuthorized, 2];
const hooks = { authorizeSubscribe: (_c: unknown, filter: string, qos: 0 | 1 | 2) => (filter.startsWith('private/') ? false : qos) };

describe('5.0 SUBACK properties and the Maximum Packet Size', () => {
  // [MQTT-3.9.2-1] the Reason String is sent only while the SUBACK with it fits the client's
  // Maximum Packet Size: at exactly its size it is kept, one byte less and it is dropped, and
  // the SUBACK still arrives with every code in order. [MQTT-3.9.2-2] no User Property either way.
  it('drops the Reason String of a refusing SUBACK that would exceed the Maximum Packet Size, keeps every code', async (ctx) => {
    const broker = brokerFor(ctx, { hooks });
    const { client: roomy } = await connect(broker, { clientId: 'roomy', protocolVersion: 5 });
    const explained = await roomy.trySubscribe(FILTERS);
    expect(explained.reasonCodes).toEqual(CODES);
    const why = explained.properties?.reasonString;
    expect(why).toContain('a/#/b');
    expect(why).toContain('private/x');
    expect(explained.properties?.userProperties).toBeUndefined();
    const size = encode(explained, 5).length;
    const bare = encode({ type: 'suback', packetId: explained.packetId, reasonCodes: CODES }, 5).length;
    expect(size).toBeGreaterThan(bare);

    const { client: exact } = await connect(broker, { clientId: 'exact', protocolVersion: 5, properties: { maximumPacketSize: size } });
    const fits = await exact.trySubscribe(FILTERS);
    expect(fits.reasonCodes).toEqual(CODES);
    expect(fits.properties?.reasonString).toBe(why);

    for (const maximumPacketSize of [size - 1, bare]) {
      const { client: tight } = await connect(broker, { clientId: `tight${maximumPacketSize}`, protocolVersion: 5, properties: { maximumPacketSize } });
      const suback = await tight.trySubscribe(FILTERS);
      expect(suback.reasonCodes).toEqual(CODES);
      expect(suback.properties?.reasonString).toBeUndefined();
      expect(suback.properties?.userProperties).toBeUndefined();
      // The granted filters of that SUBSCRIBE hold all the same.
      expect(broker.inspect.session(`tight${maximumPacketSize}`)!.subscriptions.map((s) => s.topicFilter)).toEqual(['ok/1', 'ok/2']);
    }
  });

  // [MQTT-3.1.2-29] Request Problem Information 0: no Reason String on a SUBACK at all.
  it('sends no Reason String to a client that asked for no problem information', async (ctx) => {
    const broker = brokerFor(ctx, { hooks });
    const { client } = await connect(broker, { protocolVersion: 5, properties: { requestProblemInformation: 0 } });
    const suback = await client.trySubscribe(FILTERS);
    expect(suback.reasonCodes).toEqual(CODES);
    expect(suback.properties).toBeUndefined();
  });

  // Reason Strings quote what the client sent, and are cut at 200 UTF-16 units: never inside a
  // surrogate pair, which cannot be encoded (the encoder threw, uncaught, out of the socket's
  // data handler: a crash of the broker). Both cut positions are tried, on a SUBACK (0x87, whose
  // Reason String quotes the filter) and a DISCONNECT (0x90, a wildcard in a PUBLISH's topic).
  it('cuts a long Reason String without splitting a character, on SUBACK and DISCONNECT', async (ctx) => {
    const broker = brokerFor(ctx, { hooks });
    const halfPair = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    const { client } = await connect(broker, { clientId: 'sub', protocolVersion: 5 });
    for (const pad of [0, 1]) {
      const suback = await client.trySubscribe([sub(`private/${'a'.repeat(150 + pad)}${'\u{1F600}'.repeat(40)}`, 0)]);
      expect(suback.reasonCodes).toEqual([ReasonCode.NotAuthorized]);
      const why = suback.properties!.reasonString!;
      expect(why.length).toBeLessThanOrEqual(200);
      expect(why.length).toBeGreaterThanOrEqual(199);
      expect(halfPair.test(why)).toBe(false);

      const { client: pub } = await connect(broker, { clientId: `pub${pad}`, protocolVersion: 5 });
      pub.publish(`${'a'.repeat(150 + pad)}${'\u{1F600}'.repeat(40)}/#`, 'x');
      const disconnect = await pub.expect('disconnect');
      expect(disconnect.reasonCode).toBe(ReasonCode.TopicNameInvalid);
      expect(halfPair.test(disconnect.properties!.reasonString!)).toBe(false);
      await pub.expectClosed();
    }
    client.send({ type: 'pingreq' });
    await client.expect('pingresp');
  });

  // The Reason String is for refusals: a SUBACK granting everything carries no properties.
  it('sends a SUBACK that grants every filter without properties', async (ctx) => {
    const broker = brokerFor(ctx, { hooks });
    const { client } = await connect(broker, { protocolVersion: 5 });
    const suback = await client.subscribe([sub('ok/1', 1), sub('ok/2', 0)]);
    expect(suback.properties).toBeUndefined();
  });
});
