/**
 * The attack kinds: each an async function of one episode (dial, misbehave, judge, close),
 * run again and again by the attack workers. An episode judges only what the spec or our
 * rules make certain (a protocol error closes the connection, a CONNECT deadline holds, a
 * wrong password is refused, an attacker never reads the well-behaved clients' topics, not
 * even through a session of theirs it resumed);
 * anything else it may see is the broker's choice, and the run only checks the broker stays
 * up and serves everyone else.
 */
import { garbage, mutated, unknownAcks, pubrelFirst, beforeConnect, secondConnect, longTopic } from './attacks/protocol.mjs';
import { badFilters, badOptions, manySubscriptions } from './attacks/subscribe.mjs';
import { hugeLength, slowloris, silent, pingFlood } from './attacks/resources.mjs';
import { aclProbe, badCredentials, sessionHijack } from './attacks/access.mjs';

/** Every kind, by name, with its weight among the episodes (the slow, many-socket ones less often). */
export const ATTACKS = {
  garbage: { run: garbage, weight: 2 },
  mutated: { run: mutated, weight: 3 },
  'unknown-acks': { run: unknownAcks, weight: 1 },
  'pubrel-first': { run: pubrelFirst, weight: 1 },
  'bad-filters': { run: badFilters, weight: 2 },
  'bad-options': { run: badOptions, weight: 2 },
  'huge-length': { run: hugeLength, weight: 1 },
  slowloris: { run: slowloris, weight: 0.3 },
  silent: { run: silent, weight: 0.3 },
  'many-subscriptions': { run: manySubscriptions, weight: 0.5 },
  'before-connect': { run: beforeConnect, weight: 1 },
  'second-connect': { run: secondConnect, weight: 1 },
  'long-topic': { run: longTopic, weight: 1 },
  'ping-flood': { run: pingFlood, weight: 0.5 },
  'acl-probe': { run: aclProbe, weight: 1 },
  'bad-credentials': { run: badCredentials, weight: 1 },
  'session-hijack': { run: sessionHijack, weight: 0.5 },
};

/** A kind drawn by weight (among `only`, when given). */
export function pickAttack(rng, only) {
  const names = only ?? Object.keys(ATTACKS);
  const total = names.reduce((s, n) => s + ATTACKS[n].weight, 0);
  let r = rng.next() * total;
  for (const n of names) {
    r -= ATTACKS[n].weight;
    if (r < 0) return n;
  }
  return names[names.length - 1];
}

