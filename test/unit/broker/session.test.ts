/** Session and Router without a broker: a fake connection (DeliveryTarget) and host (SessionHost). */
import { describe, expect, it } from 'vitest';
import type { QoS } from '../../../src/core/codec/types.js';
import { resolveConfig } from '../../../src/core/broker/config.js';
import { Message } from '../../../src/core/broker/message.js';
import { Router } from '../../../src/core/broker/router.js';
import { Session } from '../../../src/core/broker/session.js';
import type { DeliveryTarget, SessionHandle, SessionHost } from '../../../src/core/broker/types.js';

interface Sent {
  topic: string;
  qos: QoS;
  packetId: number;
  dup: boolean;
  ids: number[] | undefined;
}

class FakeTarget implements DeliveryTarget {
  ready = true;
  congested = false;
  sent: Sent[] = [];
  pubrels: number[] = [];
  maxSize = Infinity;
  constructor(public sendQuota = 10) {}
  sendPublish(msg: Message, qos: QoS, _retain: boolean, ids: number[] | undefined, packetId: number, dup: boolean): boolean {
    if (msg.payload.length > this.maxSize) return false;
    this.sent.push({ topic: msg.topic, qos, packetId, dup, ids });
    return true;
  }
  sendPubrel(packetId: number): void {
    this.pubrels.push(packetId);
  }
}

class FakeHost implements SessionHost {
  config = resolveConfig({ maxQueued: 5 });
  readHook = undefined;
  queueBudget = { bytes: 0, max: 0, makeRoom: () => false };
  readRefused(): void {}
  readHookFailed(): void {}
  drops: string[] = [];
  long = 0;
  drained = 0;
  dropped(_clientId: string, msg: Message, why: string): void {
    this.drops.push(`${msg.topic}: ${why}`);
  }
  queueLong(_s: SessionHandle): void {
    this.long++;
  }
  queueDrained(_s: SessionHandle): void {
    this.drained++;
  }
}

const msg = (topic: string, qos: QoS = 1, payload = 'x'): Message => new Message(topic, Buffer.from(payload), qos, false, undefined, 'pub');

function online(quota = 10): { s: Session; t: FakeTarget; host: FakeHost } {
  const host = new FakeHost();
  const s = Session.create('c', host);
  const t = new FakeTarget(quota);
  s.connection = t;
  return { s, t, host };
}

describe('Session', () => {
  it('sends within the window and queues the rest, then drains as acks come', () => {
    const { s, t } = online(2);
    for (const topic of ['a', 'b', 'c', 'd']) s.deliver(msg(topic), 1, false, undefined, Date.now());
    expect(t.sent.map((x) => x.topic)).toEqual(['a', 'b']);
    expect(s.queued).toBe(2);
    expect(s.inflightCount).toBe(2);
    s.acknowledge(t.sent[0]!.packetId, 1);
    expect(t.sent.map((x) => x.topic)).toEqual(['a', 'b', 'c']);
    // A PUBACK for a QoS 2 delivery, or an unknown id, changes nothing.
    s.acknowledge(999, 1);
    expect(s.inflightCount).toBe(2);
  });

  it('gives packet ids that skip those in flight and wrap after 65535', () => {
    const { s, t } = online(3);
    s.record.nextPacketId = 0xffff;
    for (const topic of ['a', 'b', 'c']) s.deliver(msg(topic), 1, false, undefined, Date.now());
    expect(t.sent.map((x) => x.packetId)).toEqual([0xffff, 1, 2]);
    s.acknowledge(1, 1);
    s.record.nextPacketId = 0xffff; // in flight still: skipped
    s.deliver(msg('d'), 1, false, undefined, Date.now());
    expect(t.sent.at(-1)!.packetId).toBe(1);
  });

  it('drops past maxQueued, and tells the host when the queue grows while online', () => {
    const { s, t, host } = online(0);
    for (let i = 0; i < 7; i++) s.deliver(msg(`t${i}`), 1, false, undefined, Date.now());
    expect(t.sent).toEqual([]);
    expect(s.queued).toBe(5);
    expect(s.dropped).toBe(2);
    expect(host.drops).toEqual(['t5: queue full', 't6: queue full']);
    expect(host.long).toBe(5);
  });

  it('keeps no QoS 0 for an offline client, and QoS 1 for its return', () => {
    const host = new FakeHost();
    const s = Session.create('c', host);
    s.deliver(msg('q0', 0), 0, false, undefined, Date.now());
    s.deliver(msg('q1'), 1, false, undefined, Date.now());
    expect(s.queued).toBe(1);
    const t = new FakeTarget();
    s.connection = t;
    s.resume();
    expect(t.sent.map((x) => [x.topic, x.dup])).toEqual([['q1', false]]);
  });

  it('resumes with DUP for PUBLISH in flight, PUBREL where PUBREC came, within the new Receive Maximum', () => {
    const { s, t } = online(10);
    for (const topic of ['a', 'b', 'c']) s.deliver(msg(topic, 2), 2, false, undefined, Date.now());
    const [a, b, c] = t.sent.map((x) => x.packetId);
    expect(s.received(a!, 0)).toBe(true);
    expect(s.received(4242, 0)).toBe(false);
    const back = new FakeTarget(1);
    s.connection = back;
    s.resume();
    expect(back.pubrels).toEqual([a]);
    expect(back.sent).toEqual([]); // the window (1) is taken by the PUBREL's delivery
    s.acknowledge(a!, 2);
    expect(back.sent.map((x) => [x.packetId, x.dup])).toEqual([[b, true]]);
    s.acknowledge(b!, 2); // not released yet: PUBCOMP before PUBREC is ignored
    expect(s.inflightCount).toBe(2);
    expect(s.received(b!, 0)).toBe(true);
    s.acknowledge(b!, 2);
    expect(back.sent.map((x) => x.packetId)).toEqual([b, c]);
  });

  it('drops, and counts, a message larger than the client accepts', () => {
    const { s, t, host } = online();
    t.maxSize = 3;
    s.deliver(msg('big', 1, 'too large'), 1, false, undefined, Date.now());
    expect(t.sent).toEqual([]);
    expect(s.inflightCount).toBe(0);
    expect(host.drops).toEqual(['big: larger than the client accepts']);
  });

  it('copies a queued payload out of the chunk it was read from', () => {
    const host = new FakeHost();
    const s = Session.create('c', host);
    const chunk = Buffer.alloc(65536, 0x61);
    const m = new Message('t', chunk.subarray(10, 20), 1, false, undefined, 'p');
    s.deliver(m, 1, false, undefined, Date.now());
    expect(m.payload.buffer).not.toBe(chunk.buffer);
    expect(m.payload.toString()).toBe('aaaaaaaaaa');
  });
});

describe('Router', () => {
  it('keeps the trie and the session table in step, and merges overlapping subscriptions', () => {
    const r = new Router();
    const { s, t } = online();
    const base = { noLocal: false, retainAsPublished: false, retainHandling: 0 as const };
    expect(r.subscribe(s, { ...base, topicFilter: 'a/#', qos: 0, subscriptionIds: [1] })).toBe(false);
    expect(r.subscribe(s, { ...base, topicFilter: 'a/+', qos: 1, subscriptionIds: [2] })).toBe(false);
    expect(r.subscribe(s, { ...base, topicFilter: 'a/+', qos: 1, subscriptionIds: [3] })).toBe(true); // replaced
    expect(r.size).toBe(2);
    expect(s.record.subscriptions?.size).toBe(2);
    expect(r.route(msg('a/b', 2), Date.now())).toBe(1);
    // [MQTT-3.3.4-2] one copy at the highest QoS with every subscription identifier.
    expect(t.sent).toEqual([{ topic: 'a/b', qos: 1, packetId: 1, dup: false, ids: [1, 3] }]);
    expect(r.unsubscribe(s, 'a/+')).toBe(true);
    expect(r.unsubscribe(s, 'a/+')).toBe(false);
    r.unsubscribeAll(s);
    expect(r.size).toBe(0);
    expect(s.record.subscriptions?.size).toBe(0);
    expect(r.route(msg('a/b'), Date.now())).toBe(0);
  });

  it('does not send back to the publisher with No Local [MQTT-3.8.3-3]', () => {
    const r = new Router();
    const host = new FakeHost();
    const me = Session.create('pub', host);
    const t = new FakeTarget();
    me.connection = t;
    r.subscribe(me, { topicFilter: 't', qos: 0, noLocal: true, retainAsPublished: false, retainHandling: 0, subscriptionIds: undefined });
    expect(r.route(msg('t', 0), Date.now())).toBe(0);
    expect(t.sent).toEqual([]);
  });
});
