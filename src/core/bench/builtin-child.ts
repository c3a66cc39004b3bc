/**
 * The built-in broker of `mqt bench`, in a process of its own (forked by builtin.ts) so it gets
 * a core to itself, as mosquitto would: a broker sharing the load generator's event loop
 * would measure the two of them together. Plain `createBroker()` defaults, what `mqt broker`
 * runs with. Reports its ports over IPC, counts dropped messages for the parent, and exits
 * when the parent goes away, so a crashed or killed bench never leaves a broker behind.
 *
 * argv[2]: 'ws' to also listen for MQTT over WebSocket (for `mqt bench --ws`).
 */
import { createBroker } from '../broker/index.js';

const HOST = '127.0.0.1';

export interface BuiltinReady {
  type: 'ready';
  port: number;
  wsPort: number | undefined;
}

export interface BuiltinStats {
  type: 'stats';
  dropped: number;
}

function send(message: BuiltinReady | BuiltinStats): void {
  // The parent may be gone already; 'disconnect' below ends this process then.
  if (process.connected) process.send?.(message);
}

const broker = createBroker({
  log: (level, message) => {
    if (level === 'error' || level === 'warn') process.stderr.write(`${level}: ${message}\n`);
  },
});

process.on('disconnect', () => {
  void broker.close().finally(() => process.exit(0));
});
process.on('SIGTERM', () => {
  void broker.close().finally(() => process.exit(0));
});
process.on('message', (m: unknown) => {
  if ((m as { type?: unknown } | null)?.type === 'stats') send({ type: 'stats', dropped: broker.inspect.droppedCount() });
});

try {
  const addresses = await broker.listen({ port: 0, host: HOST, ...(process.argv[2] === 'ws' ? { ws: 0 } : {}) });
  send({ type: 'ready', port: addresses[0]!.port, wsPort: addresses[1]?.port });
} catch (err) {
  process.stderr.write(`cannot listen on ${HOST}: ${(err as Error).message}\n`);
  process.exit(1);
}
