import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/index.js';
import { until } from '../helpers/broker-client.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

// `mqt pub -l` must run in flat memory however long its standard input is. The built binary
// gets a heap far too small to hold anything per line (V8 aborts past --max-old-space-size),
// and a stream long enough that keeping ~300 bytes a line would need several times that heap:
// a leak shows as an out-of-memory death, not as a timing. (Before the Publisher, each line
// raced a promise that lived as long as the run: ~95 MB of reactions for these 300,000 lines.)

beforeAll(() => assertFreshBuild(['commands/pub-run.ts', 'core/client/publisher.ts', 'core/client/payload.ts']));

const LINES = 300_000;
/** MB of old-space heap: the fixed pub lives in a few, a per-line leak needs far more. */
const HEAP_MB = 40;

describe('mqt pub -l in flat memory', () => {
  let broker: Broker;
  let port = 0;
  let received = 0;
  beforeAll(async () => {
    broker = createBroker();
    const [address] = await broker.listen({ port: 0, host: '127.0.0.1' });
    port = address!.port;
    broker.on('publish', (m) => {
      if (m.topic === 'mem/t') received++;
    });
  });
  afterAll(() => broker?.close());

  it(`publishes ${LINES.toLocaleString('en')} lines with a ${HEAP_MB} MB heap`, async () => {
    let input = '';
    for (let i = 0; i < LINES; i++) input += `m${i}\n`;
    const r = await spawnMqt(['pub', '-h', '127.0.0.1', '-p', String(port), 'mem/t', '-l', '-q', '0'], {
      input,
      env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
      timeoutMs: 60_000,
    });
    expect(r.timedOut, 'mqt did not exit').toBe(false);
    expect(r.stderr).not.toMatch(/heap out of memory|Allocation failed/);
    expect(r.signal, `stderr: ${r.stderr.slice(0, 500)}`).toBe(null);
    expect(r.code, `stderr: ${r.stderr.slice(0, 500)}`).toBe(0);
    // Every line reached the broker (QoS 0 over one TCP connection that pub ends cleanly).
    await until(() => received >= LINES, 5000).catch(() => undefined);
    expect(received).toBe(LINES);
  }, 60_000);
});
