/**
 * Our broker in a process of its own for the benchmark (forked by brokers.mjs), so it gets a
 * core to itself as mosquitto does. Configured like the mosquitto it is compared with:
 * 1000 messages in flight and 100,000 queued per client (plus --mqt-options, if given).
 * Reports its port over IPC, answers { type: 'stats' } with its drop counters and the clients
 * it still holds, and exits when the parent goes away.
 *
 * argv[2]: the dist/ folder whose broker to run (this checkout's, or --baseline's), so the
 * same process shape measures both; argv[3]: JSON of extra createBroker() options, where
 * `persistence: DIR` puts the broker on an LMDB store in DIR.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.argv[2];
const extra = process.argv[3] === undefined ? {} : JSON.parse(process.argv[3]);
const { createBroker } = await import(pathToFileURL(join(dist, 'core', 'broker', 'index.js')).href);
// { persistence: DIR }: the broker on an LMDB store in DIR, as `mqt broker --persistence DIR`.
const { persistence, ...options } = extra;
let store;
if (persistence !== undefined) {
  const { LmdbStore } = await import(pathToFileURL(join(dist, 'core', 'store', 'lmdb-store.js')).href);
  store = LmdbStore.open(persistence);
}
const broker = createBroker({
  maxInflight: 1000,
  maxQueued: 100_000,
  ...options,
  ...(store !== undefined ? { store } : {}),
  log: (level, message) => {
    if (level === 'error' || level === 'warn') process.stderr.write(`[mqt broker] ${level}: ${message}\n`);
  },
});
/** Dropped messages by reason ('client too slow', 'queue full', ...). */
const drops = {};
broker.on('drop', (_clientId, _msg, why) => {
  drops[why] = (drops[why] ?? 0) + 1;
});
const clientErrors = {};
broker.on('clientError', (_client, err) => {
  clientErrors[err.message] = (clientErrors[err.message] ?? 0) + 1;
});

const [address] = await broker.listen({ port: 0, host: '127.0.0.1' });
process.on('message', (m) => {
  if (m?.type === 'stats') {
    // Optional chaining: a baseline from another commit may lack one of these.
    process.send({
      type: 'stats',
      dropped: broker.droppedCount ?? 0,
      drops: { ...drops },
      clientErrors: { ...clientErrors },
      connections: broker.connections?.size ?? 0,
      sessions: broker.sessions?.size ?? 0,
    });
  }
});
process.on('disconnect', () => process.exit(0));
// A normal exit on SIGTERM, so `--mqt-node-args --cpu-prof` gets its profile written.
process.on('SIGTERM', () => process.exit(0));
process.send({ type: 'ready', port: address.port });
