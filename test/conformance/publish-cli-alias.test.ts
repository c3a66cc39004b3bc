/**
 * The Topic Alias rules a client must keep (5.0 section 3.3.2.3.4), as `mqt pub --topic-alias`
 * keeps them against our broker on a real socket: never above the broker's Topic Alias
 * Maximum, never 0. Runs dist/ (build first).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBroker } from '../../src/core/broker/broker.js';
import { connect } from '../helpers/broker-client.js';
import { spawnMqt } from '../helpers/spawn-mqt.js';

const broker = createBroker({ topicAliasMaximum: 2 });
let port = 0;
beforeAll(async () => {
  const [tcp] = await broker.listen({ port: 0, host: '127.0.0.1' });
  port = tcp!.port;
});
afterAll(() => broker.close());

// [MQTT-3.3.2-9] mqt pub sends no Topic Alias above the Topic Alias Maximum of the CONNACK
// (2 here): --topic-alias 3 ends with a one-line error naming the limit, and no PUBLISH;
// [MQTT-3.3.2-8] an alias of 0 is refused before connecting. Within the maximum it goes.
it('mqt pub refuses a --topic-alias above the broker’s maximum, and 0', async () => {
  const { client: sub } = await connect(broker, { clientId: 'watcher', protocolVersion: 5 });
  await sub.subscribe('alias/t', 1);
  const at = ['-h', '127.0.0.1', '-p', String(port), '-V', '5'];
  const high = await spawnMqt(['pub', ...at, 'alias/t', 'too high', '--topic-alias', '3', '-q', '1', '-d']);
  expect(high.code).not.toBe(0);
  expect(high.stderr).toContain('the broker allows topic aliases up to 2 (Topic Alias Maximum in its CONNACK): --topic-alias 3 is too high');
  expect(high.stderr).not.toContain('sending PUBLISH');
  const zero = await spawnMqt(['pub', ...at, 'alias/t', 'zero', '--topic-alias', '0']);
  expect(zero.code).not.toBe(0);
  expect(zero.stderr).toContain("--topic-alias must be a whole number from 1 to 65535, got '0'");
  const fine = await spawnMqt(['pub', ...at, 'alias/t', 'fine', '--topic-alias', '2', '-q', '1']);
  expect(fine.code, fine.stderr).toBe(0);
  const m = await sub.receive();
  expect([m.topic, m.payload.toString()]).toEqual(['alias/t', 'fine']);
  await sub.expectNothing(30);
});
