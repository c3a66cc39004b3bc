/**
 * TopicTrie.match against qlobber, the matcher under aedes (mqemitter and aedes-persistence),
 * on the broker's routing hot path: 100,000 subscriptions, a batch of publish topics per
 * iteration, every result consumed.
 *
 *   npx vitest bench --run test/bench/topic.bench.ts
 */
import { createRequire } from 'node:module';
import { bench, describe } from 'vitest';
import { TopicTrie, topicMatches, type Subscription } from '../../src/core/topic/index.js';

// qlobber ships CommonJS without types; this is the shape the benchmark uses.
interface QlobberLike<V> {
  add(topic: string, value: V): unknown;
  match(topic: string): V[];
}
type QlobberCtor = new <V>(options: object) => QlobberLike<V>;
const require = createRequire(import.meta.url);
const { Qlobber } = require('qlobber') as { Qlobber: QlobberCtor };
const QlobberSub = require('qlobber/aedes/qlobber-sub.js') as QlobberCtor;

/** mqemitter's and aedes-persistence's options: MQTT syntax, '+' matching empty levels. */
const MQTT_OPTIONS = { separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true };

const SUBSCRIPTIONS = 100_000;
const BATCH = 1_000;

/** Deterministic PRNG (mulberry32), so every run and every matcher sees the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = prng(0x5eed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number): number => Math.floor(random() * n);

// A site of 20 buildings × 10 floors × 40 rooms, 6 sensor kinds: topics of 3 to 6 levels.
const SENSORS = ['temp', 'hum', 'co2', 'light', 'motion', 'door'] as const;
const SUFFIXES = ['value', 'status', 'battery'] as const;
function randomTopic(): string {
  const room = `building${int(20)}/floor${int(10)}/room${int(40)}`;
  switch (int(4)) {
    case 0:
      return room; // 3 levels: the room's own state
    case 1:
      return `${room}/${pick(SENSORS)}`; // 4
    case 2:
      return `${room}/${pick(SENSORS)}/${pick(SUFFIXES)}`; // 5
    default:
      return `${room}/${pick(SENSORS)}/${int(4)}/${pick(SUFFIXES)}`; // 6
  }
}

/**
 * Turns a topic into a filter: 70 % exact, 20 % with one '+' level, 10 % ending in '#' after
 * at least building and floor (a dashboard follows a floor or a room, not the whole site).
 */
function randomFilter(): string {
  const levels = randomTopic().split('/');
  const roll = random();
  if (roll < 0.7) return levels.join('/');
  if (roll < 0.9) {
    levels[int(levels.length)] = '+';
    return levels.join('/');
  }
  return [...levels.slice(0, 2 + int(levels.length - 2)), '#'].join('/');
}

interface Value {
  clientId: string;
  qos: number;
}
const subscriptions: [filter: string, clientId: string, qos: number][] = [];
for (let i = 0; i < SUBSCRIPTIONS; i++) subscriptions.push([randomFilter(), `client${i}`, i % 3]);
const topics: string[] = Array.from({ length: BATCH }, randomTopic);

const trie = new TopicTrie<Value>();
const qlobber = new Qlobber<Value>(MQTT_OPTIONS);
const qlobberSub = new QlobberSub<{ clientId: string; topic: string; qos: number }>(MQTT_OPTIONS);
for (const [filter, clientId, qos] of subscriptions) {
  const value = { clientId, qos };
  trie.add(filter, clientId, value);
  qlobber.add(filter, value);
  qlobberSub.add(filter, { clientId, topic: filter, qos });
}

// The comparison only means something if all three find the same subscriptions.
let expectedTotal = 0;
for (const topic of topics.slice(0, 100)) {
  const ours = trie.match(topic).length;
  const naive = subscriptions.filter(([f]) => topicMatches(f, topic)).length;
  if (ours !== naive || qlobber.match(topic).length !== ours || qlobberSub.match(topic).length !== ours) {
    throw new Error(`matchers disagree on ${topic}: trie ${ours}, naive ${naive}`);
  }
}
for (const topic of topics) expectedTotal += trie.match(topic).length;
console.log(
  `${SUBSCRIPTIONS} subscriptions, ${BATCH} topics per iteration, ${(expectedTotal / BATCH).toFixed(1)} matches per topic`,
);

/** Consumes results the way a router would (reads each QoS), so no work can be skipped. */
let sink = 0;
function check(total: number, qosSum: number): void {
  if (total !== expectedTotal) throw new Error(`expected ${expectedTotal} matches, got ${total}`);
  sink ^= qosSum;
}

const out: Subscription<Value>[] = [];
/** Longer than the default 500 ms: the CI machines have 2 shared cores and the numbers wander. */
const OPTIONS = { time: 1_500, warmupTime: 300 };

describe(`match ${BATCH} topics against ${SUBSCRIPTIONS} subscriptions`, () => {
  bench('TopicTrie.match (reused out array)', () => {
    let total = 0;
    let qos = 0;
    for (let i = 0; i < topics.length; i++) {
      const result = trie.match(topics[i]!, out);
      for (let j = 0; j < result.length; j++) qos += result[j]!.value.qos;
      total += result.length;
    }
    check(total, qos);
  }, OPTIONS);

  bench('TopicTrie.match (new array per call)', () => {
    let total = 0;
    let qos = 0;
    for (let i = 0; i < topics.length; i++) {
      const result = trie.match(topics[i]!);
      for (let j = 0; j < result.length; j++) qos += result[j]!.value.qos;
      total += result.length;
    }
    check(total, qos);
  }, OPTIONS);

  bench('qlobber Qlobber (mqemitter options)', () => {
    let total = 0;
    let qos = 0;
    for (let i = 0; i < topics.length; i++) {
      const result = qlobber.match(topics[i]!);
      for (let j = 0; j < result.length; j++) qos += result[j]!.qos;
      total += result.length;
    }
    check(total, qos);
  }, OPTIONS);

  bench('qlobber QlobberSub (aedes-persistence)', () => {
    let total = 0;
    let qos = 0;
    for (let i = 0; i < topics.length; i++) {
      const result = qlobberSub.match(topics[i]!);
      for (let j = 0; j < result.length; j++) qos += result[j]!.qos;
      total += result.length;
    }
    check(total, qos);
  }, OPTIONS);
});

export { sink };
