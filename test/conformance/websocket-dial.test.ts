/**
 * The client side of MQTT over WebSocket (section 6, the same ids in 3.1.1 and 5.0) for our own
 * raw clients: `mqt bench` and `mqt lwt-test` reach ws:// brokers through core/net/dial.ts. A
 * WebSocket server that records what the dialer offers and sends stands in for a broker.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createDialer } from '../../src/core/net/dial.js';

let wss: WebSocketServer;
let port = 0;
/** Per connection: the subprotocols offered, and each frame's kind. */
const seen: { offered: string[]; frames: boolean[] }[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  port = (wss.address() as AddressInfo).port;
  wss.on('connection', (ws, req) => {
    const entry = { offered: String(req.headers['sec-websocket-protocol'] ?? '').split(/, */), frames: [] as boolean[] };
    seen.push(entry);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      entry.frames.push(isBinary);
      ws.send(data, { binary: true }); // echo, as binary
    });
  });
});
afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

// [MQTT-6.0.0-3]: our dialer offers the "mqtt" subprotocol; [MQTT-6.0.0-1]: what it writes
// goes out in binary frames (here a PINGREQ and a DISCONNECT, as the raw clients send them).
it('the raw dialer offers the "mqtt" subprotocol and sends binary frames only', async () => {
  const link = await (await createDialer({ transport: 'ws', host: '127.0.0.1', port, wsPath: '/mqtt' })).open(5000);
  const echoed = new Promise<Buffer>((resolve, reject) => {
    link.setHandler({ onData: resolve, onDrain() {}, onClose: (err) => reject(err ?? new Error('closed before the echo')) });
  });
  link.write(Buffer.from([0xc0, 0x00]));
  expect([...(await echoed)]).toEqual([0xc0, 0x00]);
  link.end(Buffer.from([0xe0, 0x00]));
  const deadline = Date.now() + 2000;
  while ((seen[0]?.frames.length ?? 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(seen).toHaveLength(1);
  expect(seen[0]!.offered).toContain('mqtt');
  expect(seen[0]!.frames).toEqual([true, true]);
});
