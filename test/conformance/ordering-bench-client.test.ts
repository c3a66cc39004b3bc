/**
 * The client's side of MQTT 3.1.1 and 5.0 sections 4.5 and 4.6, kept by our one hand-written
 * client that receives messages and runs QoS flows: the bench client (src/core/bench/client.ts;
 * lwt-test's raw client never subscribes or publishes). It acknowledges every PUBLISH, whether
 * a receiver processes it or not, in the order the PUBLISHes came, and answers PUBRECs with
 * PUBRELs in the order the PUBRECs came.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../../src/core/bench/client.js';
import { encode } from '../../src/core/codec/encode.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { Packet, ProtocolVersion, QoS } from '../../src/core/codec/types.js';
import type { Link, LinkHandler } from '../../src/core/net/dial.js';

/** A link that keeps what the client writes. */
class FakeLink implements Link {
  written: Buffer[] = [];
  write(buf: Buffer): void {
    this.written.push(Buffer.from(buf));
  }
  needsDrain(): boolean {
    return false;
  }
  end(): void {}
  destroy(): void {}
  setHandler(_handler: LinkHandler): void {}
}

/** What the client wrote, as [type, packet id]. */
function written(link: FakeLink, v: ProtocolVersion): [string, number][] {
  const packets = new Parser({ protocolVersion: v }).push(Buffer.concat(link.written));
  return packets.map((p: Packet) => [p.type, 'packetId' in p ? (p.packetId ?? 0) : 0]);
}

describe.each([4, 5] as const)('v%i: the bench client', (v) => {
  // 3.1.1 and 5.0 [MQTT-4.5.0-2] every PUBLISH is acknowledged by its QoS, here with no receiver
  // processing it; [MQTT-4.6.0-2] PUBACKs and [MQTT-4.6.0-3] PUBRECs in the order the PUBLISHes came;
  // each with the PUBLISH's packet id (3.1.1 [MQTT-4.3.2-2]; 5.0 [MQTT-4.3.2-4] [MQTT-4.3.3-8]).
  it('acknowledges every PUBLISH, processed or not, in the order received', () => {
    const link = new FakeLink();
    const c = new RawClient(link, v);
    const qos = (id: number): QoS => [0, 1, 2][id % 3] as QoS;
    const publishes = Array.from({ length: 12 }, (_, k) => {
      const id = k + 1;
      return encode({ type: 'publish', topic: 't', payload: Buffer.from(`m${id}`), qos: qos(id), retain: false, dup: false, ...(qos(id) > 0 ? { packetId: id } : {}) }, v);
    });
    c.onData(Buffer.concat(publishes));
    const owed = Array.from({ length: 12 }, (_, k) => k + 1)
      .filter((id) => qos(id) > 0)
      .map((id) => [qos(id) === 1 ? 'puback' : 'pubrec', id]);
    expect(written(link, v)).toEqual(owed);
  });

  // 3.1.1 and 5.0 [MQTT-4.6.0-4] PUBRELs in the order the PUBRECs came.
  it('sends PUBRELs in the order the PUBRECs came', () => {
    const link = new FakeLink();
    const c = new RawClient(link, v);
    const order = [3, 1, 4, 2];
    c.onData(Buffer.concat(order.map((packetId) => encode({ type: 'pubrec', packetId, ...(v === 5 ? { reasonCode: 0 } : {}) }, v))));
    expect(written(link, v)).toEqual(order.map((id) => ['pubrel', id]));
  });
});
