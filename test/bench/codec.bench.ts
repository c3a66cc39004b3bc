/**
 * Codec micro-benchmarks: mqt against mqtt-packet 9 on a 64-byte QoS 1 PUBLISH, in 3.1.1 and
 * in 5.0 with a few properties. Encode builds one packet's bytes per iteration; parse feeds one
 * packet's bytes per iteration to a parser created once, as a connection would.
 *
 * Run: npx vitest bench --run test/bench/codec.bench.ts
 */
import mqtt from 'mqtt-packet';
import type { IPublishPacket } from 'mqtt-packet';
import { bench, describe } from 'vitest';
import { encode, Parser } from '../../src/core/codec/index.js';
import type { Packet, PublishPacket } from '../../src/core/codec/index.js';

const topic = 'bench/sensors/0001';
const payload = Buffer.alloc(64, 0x61);

const ours4: PublishPacket = { type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId: 4242 };
const ours5: PublishPacket = {
  ...ours4,
  properties: { messageExpiryInterval: 3600, contentType: 'application/json', userProperties: [['source', 'bench']] },
};
const theirs4: IPublishPacket = { cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false, messageId: 4242 };
const theirs5: IPublishPacket = {
  ...theirs4,
  properties: { messageExpiryInterval: 3600, contentType: 'application/json', userProperties: { source: 'bench' } },
};

/** Results go to a module-level slot so the work cannot be optimised away. */
export let sink: unknown;

for (const [version, ours, theirs] of [
  [4, ours4, theirs4],
  [5, ours5, theirs5],
] as const) {
  const name = version === 4 ? '3.1.1' : '5.0 with properties';
  const bytes = encode(ours, version);
  // Both libraries must produce the same bytes, or the two parse benchmarks would not be comparable.
  if (!bytes.equals(mqtt.generate(theirs, { protocolVersion: version }))) {
    throw new Error(`encodings differ for ${name}: the benchmark would compare different work`);
  }

  describe(`encode QoS 1 PUBLISH, 64-byte payload, ${name}`, () => {
    bench('mqt encode', () => {
      sink = encode(ours, version);
    });
    bench('mqtt-packet generate', () => {
      sink = mqtt.generate(theirs, { protocolVersion: version });
    });
  });

  describe(`parse QoS 1 PUBLISH, 64-byte payload, ${name}`, () => {
    const parser = new Parser({ protocolVersion: version });
    const check: Packet[] = parser.push(bytes);
    if (check.length !== 1) throw new Error('mqt parser did not return the packet');
    bench('mqt Parser.push', () => {
      sink = parser.push(bytes);
    });

    const theirParser = mqtt.parser({ protocolVersion: version });
    let parsed = 0;
    theirParser.on('packet', (packet) => {
      parsed++;
      sink = packet;
    });
    theirParser.on('error', (err: Error) => {
      throw err;
    });
    theirParser.parse(bytes);
    if (parsed !== 1) throw new Error('mqtt-packet parser did not return the packet');
    bench('mqtt-packet parser.parse', () => {
      theirParser.parse(bytes);
    });
  });
}
