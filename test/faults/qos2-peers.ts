/**
 * The application side of a QoS 2 flow for the fault tests: a receiver that delivers exactly
 * once across its own crashes, and a well-behaved sender.
 *
 * Qos2Receiver implements the spec's method B (MQTT 3.1.1 figure 4.3, 5.0 figure 4.3): a
 * PUBLISH whose packet id it does not hold is delivered on receipt and its id stored, in one
 * step; a PUBLISH with a stored id (the DUP re-send) is only acknowledged again; PUBREL frees
 * the id. Its state lives in the test, not in the socket, so it survives a kill of the
 * connection exactly like a client's persistent session state would.
 */
import type { TestClient } from '../helpers/broker-client.js';
import type { Packet, PublishPacket } from '../../src/core/codec/types.js';

export class Qos2Receiver {
  /** QoS 2 payloads handed to the application, in order. */
  readonly delivered: string[] = [];
  /** QoS 1 payloads, as they came (at least once: a re-sent one may repeat). */
  readonly qos1: string[] = [];
  /** Packet ids received (delivered) and not yet released by PUBREL. */
  readonly incoming = new Set<number>();

  /** Method B: deliver a new id at once and keep it; a known id was delivered already. */
  accept(p: PublishPacket): void {
    const id = p.packetId!;
    if (this.incoming.has(id)) return;
    this.delivered.push(p.payload.toString());
    this.incoming.add(id);
  }

  /** PUBREL: the sender will not send this id's PUBLISH again; a new PUBLISH with it is a new message. */
  release(id: number): void {
    this.incoming.delete(id);
  }

  /** Times `payload` was delivered. */
  count(payload: string): number {
    return this.delivered.filter((d) => d === payload).length;
  }
}

/** Acknowledgements carry a reason code in 5.0 only. */
function ok(client: TestClient): { reasonCode?: number } {
  return client.version === 5 ? { reasonCode: 0 } : {};
}

/**
 * Plays the receiver's part for every packet that arrives until `quietMs` pass with none:
 * QoS 2 PUBLISH → accept + PUBREC, PUBREL → release + PUBCOMP, QoS 1 PUBLISH → noted +
 * PUBACK. Returns the packets seen, in order.
 */
export async function serveReceiver(client: TestClient, receiver: Qos2Receiver, quietMs = 300): Promise<Packet[]> {
  const seen: Packet[] = [];
  for (;;) {
    let p: Packet;
    try {
      p = await client.next(quietMs);
    } catch {
      return seen;
    }
    seen.push(p);
    if (p.type === 'publish' && p.qos === 2) {
      receiver.accept(p);
      client.send({ type: 'pubrec', packetId: p.packetId!, ...ok(client) });
    } else if (p.type === 'publish' && p.qos === 1) {
      receiver.qos1.push(p.payload.toString());
      client.send({ type: 'puback', packetId: p.packetId!, ...ok(client) });
    } else if (p.type === 'pubrel') {
      receiver.release(p.packetId);
      client.send({ type: 'pubcomp', packetId: p.packetId, ...ok(client) });
    } else {
      throw new Error(`unexpected packet at the receiver: ${JSON.stringify(p)}`);
    }
  }
}

/** A complete QoS 2 publish (PUBLISH, PUBREC, PUBREL, PUBCOMP) with packet id `id`. */
export async function publishQos2(client: TestClient, topic: string, payload: string, id: number): Promise<void> {
  client.publish(topic, payload, { qos: 2, packetId: id });
  const rec = await client.expect('pubrec', 5000);
  if (rec.packetId !== id) throw new Error(`PUBREC for ${rec.packetId}, expected ${id}`);
  client.send({ type: 'pubrel', packetId: id, ...ok(client) });
  const comp = await client.expect('pubcomp', 5000);
  if (comp.packetId !== id) throw new Error(`PUBCOMP for ${comp.packetId}, expected ${id}`);
}
