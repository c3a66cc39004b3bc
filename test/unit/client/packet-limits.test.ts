import { describe, expect, it } from 'vitest';
import { humanSize, maxPayload, mqttLimitError, brokerLimitError, publishPacketSize, type PublishShape } from '../../../src/core/client/packet-limits.js';
import { encode } from '../../../src/core/codec/index.js';
import type { Properties, QoS } from '../../../src/core/codec/types.js';

describe('publishPacketSize', () => {
  // Hand-counted: fixed header 1, Remaining Length 1, topic 2 + 1, payload 3 (3.1.1, QoS 0).
  it('counts a small 3.1.1 PUBLISH byte by byte', () => {
    expect(publishPacketSize({ topic: 't', qos: 0, protocolVersion: 4 }, 3)).toBe(8);
    // + packet id 2; 5.0 adds the property length 1 and, here, a content type: 1 + 2 + 10.
    expect(publishPacketSize({ topic: 't', qos: 1, protocolVersion: 5, properties: { contentType: 'text/plain' } }, 3)).toBe(8 + 2 + 1 + 13);
  });

  // Against what the encoder writes, across the Remaining Length's 1 to 3 byte forms.
  const props: Properties = { userProperties: [['k', 'vé']], topicAlias: 3, messageExpiryInterval: 60 };
  const cases: [string, QoS, 3 | 4 | 5, Properties | undefined, number][] = [
    ['a/b', 0, 4, undefined, 0],
    ['a/b', 2, 3, undefined, 120],
    ['ü/topic', 1, 5, props, 121],
    ['x', 0, 5, undefined, 16_380],
    ['x', 1, 5, props, 20_000],
  ];
  it.each(cases)('%s QoS %i v%i: as long as encode() writes', (topic, qos, version, properties, size) => {
    const shape: PublishShape = { topic, qos, protocolVersion: version, properties };
    const bytes = encode({ type: 'publish', topic, qos, retain: false, dup: false, payload: Buffer.alloc(size), ...(qos > 0 ? { packetId: 1 } : {}), ...(version === 5 && properties ? { properties } : {}) }, version);
    expect(publishPacketSize(shape, size)).toBe(bytes.length);
  });
});

describe('the limits', () => {
  const shape: PublishShape = { topic: 'abc', qos: 0, protocolVersion: 5 };
  it('MQTT holds 268,435,455 bytes after the fixed header: topic and properties take their share', () => {
    expect(maxPayload(shape)).toBe(268_435_455 - 2 - 3 - 1);
    expect(mqttLimitError('x', maxPayload(shape), shape)).toBeUndefined();
    expect(mqttLimitError("'file.bin'", 270 * 1024 * 1024, shape)).toBe("'file.bin' is 270 MB; an MQTT message holds at most 256 MB (268,435,455 bytes with its headers): nothing sent");
  });
  it("the broker's maximum is the whole packet, inclusive", () => {
    expect(brokerLimitError(1000, 1000)).toBeUndefined();
    expect(brokerLimitError(1000, undefined)).toBeUndefined();
    expect(brokerLimitError(2013, 1000)).toBe("message of 2,013 bytes exceeds the broker's maximum packet size of 1,000 bytes; nothing sent");
  });
  it.each([
    [1, '1 byte'],
    [10_239, '10,239 bytes'],
    [10_240, '10 KB'],
    [5 * 1024 * 1024, '5.0 MB'],
    [283_115_520, '270 MB'],
  ])('humanSize(%i) = %s', (n, text) => expect(humanSize(n)).toBe(text));
});
