/** The outgoing wire form and the Outbox, without a connection or a broker. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Parser } from '../../../src/core/codec/parser.js';
import type { Packet, PublishPacket } from '../../../src/core/codec/types.js';
import { Message, packetIdOffset } from '../../../src/core/broker/message.js';
import { Outbox } from '../../../src/core/broker/outbox.js';
import { writePublish, type WireState } from '../../../src/core/broker/wire.js';

function written(outbox: Outbox, version: 4 | 5): Packet[] {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  outbox.flush(out);
  return new Parser({ protocolVersion: version }).push(Buffer.concat(chunks));
}

describe('Outbox', () => {
  it('writes everything gathered as one buffer, patching packet ids into shared templates', () => {
    const box = new Outbox();
    const m = new Message('t', Buffer.from('hi'), 1, false, undefined, 'p');
    const template = m.template(4, 1, false);
    const at = packetIdOffset(template);
    box.pushWithId(template, at, 7);
    box.pushWithId(template, at, 8);
    box.push(Buffer.from([0xd0, 0x00]));
    const out = new PassThrough();
    const writes: Buffer[] = [];
    out.on('data', (c: Buffer) => writes.push(c));
    box.flush(out);
    expect(writes).toHaveLength(1);
    const packets = new Parser({ protocolVersion: 4 }).push(writes[0]!);
    expect(packets.map((p) => (p.type === 'publish' ? p.packetId : p.type))).toEqual([7, 8, 'pingresp']);
    expect(template.readUInt16BE(at)).toBe(1); // the template itself is not changed
    expect(box.empty).toBe(true);
  });
});

describe('writePublish', () => {
  const state = (over: Partial<WireState> = {}): WireState => ({ protocolVersion: 5, outbox: new Outbox(), maxOutgoingPacket: 268_435_460, outAliasMax: 0, outAliases: undefined, ...over });

  it('refuses, sending nothing, a packet larger than the client accepts [MQTT-3.1.2-25]', () => {
    const w = state({ protocolVersion: 4, maxOutgoingPacket: 10 });
    expect(writePublish(w, new Message('t', Buffer.alloc(20), 0, false, undefined, 'p'), 0, false, undefined, 0, false, Date.now())).toBe(false);
    expect(w.outbox.empty).toBe(true);
  });

  // A client resolves aliases by its own map; ours must match it at every step.
  it('never shows a message under another topic, whatever is too large on the way', () => {
    const w = state({ outAliasMax: 2, maxOutgoingPacket: 60 });
    const client = new Map<number, string>();
    const seen: string[] = [];
    const send = (topic: string, size: number): boolean => {
      const ok = writePublish(w, new Message(topic, Buffer.alloc(size), 0, false, undefined, 'p'), 0, false, undefined, 0, false, Date.now());
      for (const p of written(w.outbox, 5) as PublishPacket[]) {
        const alias = p.properties?.topicAlias;
        if (alias !== undefined && p.topic !== '') client.set(alias, p.topic);
        seen.push(p.topic !== '' ? p.topic : client.get(alias!)!);
      }
      return ok;
    };
    expect(send('a', 1)).toBe(true);
    expect(send('b', 1)).toBe(true);
    expect(send('a', 100)).toBe(false);
    expect(send('c', 1)).toBe(true); // table full: sent with its topic
    expect(send('b', 1)).toBe(true);
    expect(send('d', 100)).toBe(false);
    expect(send('a', 1)).toBe(true);
    expect(seen).toEqual(['a', 'b', 'c', 'b', 'a']);
  });

  it('sends what is left of the expiry and the subscription ids per subscriber [MQTT-3.3.2-6]', () => {
    const w = state();
    const m = new Message('t', Buffer.from('x'), 1, false, { contentType: 'text/plain' }, 'p');
    const now = Date.now();
    m.expiresAt = now + 10_500;
    writePublish(w, m, 1, false, [4, 9], 3, false, now);
    const [p] = written(w.outbox, 5) as PublishPacket[];
    expect(p).toMatchObject({ packetId: 3, properties: { contentType: 'text/plain', messageExpiryInterval: 11, subscriptionIdentifiers: [4, 9] } });
    expect(m.properties).toEqual({ contentType: 'text/plain' }); // the shared message is untouched
  });
});
