/**
 * The client's side of DISCONNECT (3.1.1 and 5.0 section 3.14.4) where our own raw client keeps
 * it: the bench's RawClient ends every connection with DISCONNECT, its last packet, and closes
 * the network connection after it (at once on our side; the socket is cut if the broker has not
 * closed within the wait).
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../../src/core/bench/client.js';
import { ALLOWED_REASON_CODES } from '../../src/core/codec/constants.js';
import { Parser } from '../../src/core/codec/parser.js';
import type { Link, LinkHandler } from '../../src/core/net/dial.js';

/** A link that records what is written, and refuses writes once ended, as a socket does. */
class RecordingLink implements Link {
  written: Buffer[] = [];
  ended: Buffer | undefined;
  destroyed = false;
  handler: LinkHandler | undefined;
  write(buf: Buffer): void {
    if (this.ended !== undefined || this.destroyed) throw new Error('write after the end of the link');
    this.written.push(Buffer.from(buf));
  }
  needsDrain(): boolean {
    return false;
  }
  end(last: Buffer): void {
    this.ended = Buffer.from(last);
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.handler?.onClose(undefined);
  }
  setHandler(handler: LinkHandler): void {
    this.handler = handler;
  }
}

describe('the bench client’s DISCONNECT', () => {
  for (const version of [4, 5] as const) {
    const label = version === 4 ? '3.1.1' : '5.0';
    // 3.1.1 [MQTT-3.14.4-1] / 5.0 [MQTT-3.14.4-2]: after DISCONNECT the client closes the network
    // connection: the link is ended with it, and cut when the broker does not close within the wait.
    // 3.1.1 [MQTT-3.14.4-2] / 5.0 [MQTT-3.14.4-1]: nothing after DISCONNECT: it is the last bytes.
    it(`MQTT ${label}: DISCONNECT is the last packet, the link is ended with it and cut after the wait`, async () => {
      const link = new RecordingLink();
      const client = new RawClient(link, version);
      const clearing = Buffer.from([0x31, 4, 0, 1, 0x74, 0]); // a retained clear, sent before
      await client.disconnect(20, clearing);
      expect(link.written).toEqual([clearing]);
      const packets = new Parser({ protocolVersion: version }).push(link.ended!);
      expect(packets).toHaveLength(1);
      expect(packets[0]!.type).toBe('disconnect');
      expect(link.destroyed).toBe(true);
      // Later calls send nothing more.
      await client.disconnect(20);
      expect(link.written).toHaveLength(1);
    });
  }

  // 5.0 [MQTT-3.14.2-1]: the bench's DISCONNECT carries a DISCONNECT code (0x00, normal
  // disconnection: the short form), and no property, so none can exceed the broker's Maximum
  // Packet Size ([MQTT-3.14.2-3] [MQTT-3.14.2-4]).
  it('MQTT 5.0: the DISCONNECT is code 0x00 with no properties', async () => {
    const link = new RecordingLink();
    const client = new RawClient(link, 5);
    await client.disconnect(5);
    const [packet] = new Parser({ protocolVersion: 5 }).push(link.ended!);
    expect(packet).toMatchObject({ type: 'disconnect' });
    const code = (packet as { reasonCode?: number }).reasonCode ?? 0;
    expect(ALLOWED_REASON_CODES['disconnect']![code]).toBe(1);
    expect(code).toBe(0);
    expect((packet as { properties?: unknown }).properties).toBeUndefined();
  });
});
