/**
 * The floor of `npm run bench:memory`: not a broker, a bare node:net server that answers each
 * CONNECT with a CONNACK and each SUBSCRIBE with a SUBACK granting what was asked, and does
 * nothing else (no sessions, no topic tree). What it holds per connection is what Node's own
 * socket handling costs, the least any broker written on node:net can hold.
 *
 * usage: node node-server.mjs PORT   (listens on 127.0.0.1:PORT)
 */
import { createServer } from 'node:net';
import { frames } from './frames.mjs';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const port = Number(process.argv[2]);

/** SUBACK for the SUBSCRIBE in `p` (3.1.1: packet id, then filter length, filter, options byte each). */
function suback(p, start, end) {
  const codes = [];
  for (let i = start + 2; i + 2 <= end; ) {
    const len = p.readUInt16BE(i);
    i += 2 + len;
    codes.push(p[i] & 0x03);
    i += 1;
  }
  return Buffer.from([0x90, 2 + codes.length, p[start], p[start + 1], ...codes]);
}

const server = createServer({ noDelay: true }, (socket) => {
  let pending = null;
  socket.on('data', (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    const { packets, rest } = frames(buf);
    for (const [first, start, end] of packets) {
      const type = first >> 4;
      if (type === 1) socket.write(CONNACK);
      else if (type === 8) socket.write(suback(buf, start, end));
      else if (type === 14) socket.end();
    }
    if (rest.length > 0) pending = Buffer.from(rest);
  });
  socket.on('error', () => undefined);
  socket.on('end', () => socket.end());
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
