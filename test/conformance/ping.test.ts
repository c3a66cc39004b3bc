/** MQTT 3.1.1 and 5.0 section 3.12.4, the broker's side: every PINGREQ gets its PINGRESP. */
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../src/core/codec/types.js';
import { brokerFor, connect } from '../helpers/broker-client.js';

const VERSIONS = [
  ['3.1.1', 4],
  ['5.0', 5],
] as const satisfies readonly (readonly [string, ProtocolVersion])[];

describe('PINGREQ', () => {
  for (const [name, version] of VERSIONS) {
    // 3.1.1 and 5.0 [MQTT-3.12.4-1]: a PINGRESP for each PINGREQ, also for several in one write
    // and between other traffic, and the connection stays open (keep-alive 0: nothing to keep).
    it(`${name}: answers each PINGREQ with a PINGRESP`, async (ctx) => {
      const broker = brokerFor(ctx);
      const { client } = await connect(broker, { protocolVersion: version, keepalive: 0 });
      client.sendRaw([0xc0, 0x00, 0xc0, 0x00, 0xc0, 0x00]);
      for (let i = 0; i < 3; i++) expect(await client.expect('pingresp')).toEqual({ type: 'pingresp' });
      await client.subscribe('t');
      client.send({ type: 'pingreq' });
      expect(await client.expect('pingresp')).toEqual({ type: 'pingresp' });
      await client.expectNothing(30);
    });
  }
});
