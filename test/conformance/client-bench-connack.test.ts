/**
 * MQTT 5.0 CONNACK rules that bind a client (section 3.2.2), kept by mqt bench's raw clients
 * (src/core/bench/client.ts, shard.ts): the built binary against a fake broker (our codec) that
 * answers CONNECT the way the rule is about and records every packet it is sent. A run the
 * CONNACK forbids ends before anything is published, in one line of ours, exit status 1.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnackPacket, Packet } from '../../src/core/codec/types.js';
import { startFakeBroker, type FakeBroker } from '../helpers/fake-broker.js';
import { assertFreshBuild, spawnMqt } from '../helpers/spawn-mqt.js';

beforeAll(() => assertFreshBuild(['core/bench/client.ts', 'core/bench/shard.ts', 'commands/bench-run.ts']));

let fake: FakeBroker | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A fake broker answering every CONNECT with `connack`; what each connection was sent, and whether it closed. */
async function broker(connack: Omit<ConnackPacket, 'type'>): Promise<{ port: number; seen: Packet[]; closed: () => number }> {
  const seen: Packet[] = [];
  let closed = 0;
  fake = await startFakeBroker({
    onPacket(p, client) {
      seen.push(p);
      if (p.type !== 'connect') return false;
      client.send({ type: 'connack', ...connack });
      return true;
    },
    onClose: () => void closed++,
  });
  return { port: fake.port, seen, closed: () => closed };
}

const run = (port: number, ...args: string[]) => spawnMqt(['bench', '-h', '127.0.0.1', '-p', String(port), '-V', '5', '--msgs', '10', ...args], { timeoutMs: 15_000 });

describe('mqt bench as an MQTT 5.0 client: what its CONNACK says', () => {
  // [MQTT-3.2.2-4] a client without session state (the bench always sends Clean Start 1) that
  // gets Session Present 1 closes the connection: nothing after the CONNECT, the socket closed,
  // and the run fails saying why.
  it('closes a connection answered with Session Present 1 and fails the run in one line [MQTT-3.2.2-4]', async () => {
    const b = await broker({ sessionPresent: true, reasonCode: 0 });
    const r = await run(b.port);
    expect(r.stderr).toMatch(/^mqt bench: .*the broker answered the clean CONNECT of \S+ with Session Present 1, a session this client cannot have: the bench closed the connection\n$/);
    expect(r.code).toBe(1);
    expect(b.seen.map((p) => p.type)).toEqual(['connect']);
    expect(b.seen[0]).toMatchObject({ clean: true });
    expect(b.closed()).toBe(1);
  });

  // [MQTT-3.2.2-11] no PUBLISH above the Maximum QoS of the CONNACK: the run is refused before
  // it publishes (nor subscribes at a QoS the broker would downgrade).
  it('refuses a QoS 2 run when the broker accepts QoS 1 at most, before publishing [MQTT-3.2.2-11]', async () => {
    const b = await broker({ sessionPresent: false, reasonCode: 0, properties: { maximumQoS: 1 } });
    const r = await run(b.port, '--qos', '2');
    expect(r.stderr).toMatch(/^mqt bench: .*the broker accepts QoS 1 at most \(Maximum QoS in its CONNACK\): use --qos 1\n$/);
    expect(r.code).toBe(1);
    expect(b.seen.filter((p) => p.type === 'publish' || p.type === 'subscribe')).toEqual([]);
  });

  // [MQTT-3.2.2-14] Retain Available 0: no PUBLISH with RETAIN 1, so a --retain run is refused first.
  it('refuses a --retain run when the broker says Retain Available 0, before publishing [MQTT-3.2.2-14]', async () => {
    const b = await broker({ sessionPresent: false, reasonCode: 0, properties: { retainAvailable: 0 } });
    const r = await run(b.port, '--retain');
    expect(r.stderr).toMatch(/^mqt bench: .*the broker does not accept retained messages \(Retain Available 0 in its CONNACK\): drop --retain\n$/);
    expect(r.code).toBe(1);
    expect(b.seen.filter((p) => p.type === 'publish' || p.type === 'subscribe')).toEqual([]);
  });
});
