/**
 * Topic aliases from the broker to a 5.0 client (section 3.3.2.3.4) when some messages are too
 * large for the client's Maximum Packet Size: whatever the broker does with an alias whose
 * message it could not send, the client's alias map (which only ever sees what was sent) must
 * resolve every delivered message to the topic it was published on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';
import type { PublishPacket } from '../../src/core/codec/types.js';
import { connect, type TestClient } from '../helpers/broker-client.js';

let broker: Broker;
afterEach(async () => broker?.close());

const ALIAS_MAX = 2;
const MAX_PACKET = 100;

/**
 * Keeps a client's map of the broker's aliases exactly as 5.0 section 3.3.2.3.4 has it: a
 * PUBLISH with a topic and an alias sets the alias; an empty topic with an alias uses it.
 * Returns the topic the PUBLISH is for.
 */
class AliasMap {
  private readonly topics = new Map<number, string>();

  resolve(m: PublishPacket): string {
    const alias = m.properties?.topicAlias;
    if (alias === undefined) {
      // Section 3.3.2.3.4: without an alias the topic name must be there.
      expect(m.topic).not.toBe('');
      return m.topic;
    }
    // [MQTT-3.3.2-8] never 0; [MQTT-3.3.2-11] never above the Topic Alias Maximum the client sent.
    expect(alias).toBeGreaterThanOrEqual(1);
    expect(alias).toBeLessThanOrEqual(ALIAS_MAX);
    if (m.topic !== '') {
      this.topics.set(alias, m.topic);
      return m.topic;
    }
    const known = this.topics.get(alias);
    // Section 3.3.2.3.4: an empty topic uses the alias's mapping; one never set is a Protocol Error.
    expect(known, `alias ${alias} used before it was set`).toBeDefined();
    return known!;
  }
}

/** A 5.0 subscriber to `#` allowing ALIAS_MAX aliases and packets of at most MAX_PACKET bytes. */
async function subscriber(): Promise<TestClient> {
  const { client } = await connect(broker, { clientId: 'sub', protocolVersion: 5, properties: { topicAliasMaximum: ALIAS_MAX, maximumPacketSize: MAX_PACKET } });
  await client.subscribe('#', 0);
  return client;
}

/** Publishes `[topic, large]` in order; a large message does not fit the subscriber's Maximum Packet Size. */
async function publishAll(items: [string, boolean][]): Promise<void> {
  const { client: pub } = await connect(broker, { clientId: 'pub' });
  items.forEach(([topic, large], i) => pub.publish(topic, large ? `${topic}:${i}:${'x'.repeat(2 * MAX_PACKET)}` : `${topic}:${i}`));
  pub.send({ type: 'pingreq' });
  await pub.expect('pingresp');
}

/** Every PUBLISH until the client has been quiet for 200 ms. */
async function drain(client: TestClient): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (;;) {
    try {
      got.push(await client.expect('publish', 200));
    } catch {
      return got;
    }
  }
}

describe('broker to client aliases and messages too large for the client', () => {
  it.each([
    // A topic holding alias 1 gets an oversized message, then a new topic arrives while both aliases are taken.
    ['an aliased topic’s message is too large, then a new topic comes', [['a', false], ['b', false], ['a', true], ['c', false], ['b', false], ['a', false], ['c', false]]],
    // The oversized message is the first on its topic: the alias it would have set never reached the client.
    ['a new topic’s first message is too large', [['a', false], ['b', true], ['b', false], ['c', false], ['b', false], ['a', false]]],
    // Several oversized messages in a row on topics with and without aliases.
    ['several large messages on aliased and new topics', [['a', false], ['a', true], ['b', true], ['b', false], ['c', false], ['a', true], ['d', false], ['c', false], ['b', false], ['a', false], ['d', false]]],
  ] as [string, [string, boolean][]][])('resolves every delivered message to its own topic when %s', async (_name, items) => {
    broker = createBroker();
    const sub = await subscriber();
    await publishAll(items);
    const got = await drain(sub);
    const aliases = new AliasMap();
    const delivered = got.map((m) => [aliases.resolve(m), m.payload.toString()]);
    // [MQTT-3.1.2-25] the large messages are not sent; every other one reaches the client under the
    // topic it was published on (section 3.3.2.3.4, as the client resolves it): the payload names that topic.
    const expected = items.flatMap(([topic, large], i) => (large ? [] : [[topic, `${topic}:${i}`]]));
    expect(delivered).toEqual(expected);
  });
});
