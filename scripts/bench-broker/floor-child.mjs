/**
 * The floor of the connection storm (forked by brokers.mjs): not a broker, a bare Node TCP
 * server that answers each CONNECT with a fixed CONNACK and nothing else. What it spends per
 * connection is what Node's own socket handling costs, the least any broker written on
 * node:net can spend; bench-broker.mjs prints it beside mosquitto and mqt.
 */
import { createServer } from 'node:net';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => {
    if (chunk[0] === 0x10) socket.write(CONNACK);
  });
  socket.on('error', () => undefined);
  socket.on('end', () => socket.end());
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
