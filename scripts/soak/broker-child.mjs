/**
 * The broker of `npm run soak`, in a process of its own (forked by broker.mjs) so its memory and
 * event loop are its own: what it reports is the broker's, not the load's.
 *
 * It runs as `mqt broker` does: createBroker() with its defaults, from dist/, and the young
 * generation capped at 2 x 4 MB (commands/broker-heap.js), so the RSS a soak shows is the RSS
 * a user's broker would have. The event-loop delay is sampled by perf_hooks at 10 ms
 * resolution and reset at each sample, so each p99 covers one interval.
 *
 * Over IPC:
 *   → { type: 'ready', port }                  once listening on 127.0.0.1 (port 0: the kernel's pick)
 *   ← { type: 'sample' } → { type: 'sample', … } memory, event-loop delay and broker counts now
 * Ends on SIGTERM, or when the parent goes away (so a killed soak leaves no broker behind).
 *
 * MQT_SOAK_BROKER_FAULT=lose-every=N makes it a broken broker, for the soak's own test: every
 * Nth QoS 1/2 delivery of a soak message is refused by authorizeRead after the publisher was
 * acknowledged, i.e. lost. The soak must then fail.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { capYoungGeneration } from '../../dist/commands/broker-heap.js';
import { createBroker } from '../../dist/index.js';

const HOST = '127.0.0.1';

capYoungGeneration();
// The histogram holds the time between its timer's runs, the resolution included (10.1 ms on
// an idle loop): the delay past the resolution is what a client waits for.
const RESOLUTION_MS = 10;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
const pastResolution = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

function faultHooks() {
  const fault = /^lose-every=(\d+)$/.exec(process.env.MQT_SOAK_BROKER_FAULT ?? '');
  if (fault === null) return {};
  const every = Number(fault[1]);
  let n = 0;
  return { authorizeRead: (_client, topic, qos) => !(qos > 0 && topic.startsWith('soak/m/') && ++n % every === 0) };
}

const broker = createBroker({
  hooks: faultHooks(),
  log: (level, message) => {
    if (level === 'error' || level === 'warn') process.stderr.write(`broker ${level}: ${message}\n`);
  },
});

function send(message) {
  if (process.connected) process.send(message);
}

function sample() {
  const m = process.memoryUsage();
  const s = {
    type: 'sample',
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    loopP99Ms: delay.count > 0 ? pastResolution(delay.percentile(99)) : 0,
    loopMaxMs: delay.count > 0 ? pastResolution(delay.max) : 0,
    connections: broker.inspect.connectionCount(),
    sessions: broker.inspect.sessionCount(),
    subscriptions: broker.inspect.subscriptionCount(),
    retained: broker.inspect.retainedCount(),
    dropped: broker.inspect.droppedCount(),
    queueBytes: broker.inspect.queueBytes(),
  };
  delay.reset();
  return s;
}

const stop = () => void broker.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('message', (m) => {
  if (m?.type === 'sample') send(sample());
});

try {
  const [address] = await broker.listen({ port: 0, host: HOST });
  send({ type: 'ready', port: address.port });
} catch (err) {
  process.stderr.write(`soak broker: cannot listen on ${HOST}: ${err.message}\n`);
  process.exit(1);
}
