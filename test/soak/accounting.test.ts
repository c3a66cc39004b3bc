/**
 * The soak's books (scripts/soak/ledger.mjs, checks.mjs, level-off.mjs): what a subscriber is
 * owed, what counts as lost and duplicated, when a will is missing or not owed, a stale retained
 * value, and when RSS has levelled off. The soak can only fail the broker if these can fail.
 */
import { describe, expect, it } from 'vitest';

interface Row {
  qos: number;
  sent: number;
  acked: number | null;
  received: number;
  deliveries: number;
  lost: number | null;
  dup: number;
}
interface LedgerT {
  addPublisher(k: number): void;
  addSubscriber(s: number, publisher: number, persistent: boolean): void;
  sent(k: number, qos: number, now: number): number;
  acked(k: number, qos: number, seq: number, now: number): void;
  online(s: number, now: number): void;
  subscribed(s: number, now: number): void;
  offline(s: number, now: number): void;
  received(s: number, k: number, qos: number, seq: number, deliveredQos: number, now: number): void;
  tally(now: number, final: boolean): Row[];
  misrouted: number;
  wrongQos: number;
}
interface WillsT {
  opened(client: number, incarnation: number): void;
  ended(client: number, incarnation: number, how: string, now: number): void;
  arrived(key: string, now: number): void;
  tally(now: number, final: boolean): { expected: number; arrived: number; missing: number; unexpected: number; duplicates: number };
}
interface RetainedT {
  acked(publisher: number, seq: number): void;
  subscribing(s: number, publisher: number): void;
  subacked(s: number, now: number): void;
  arrived(s: number, publisher: number, seq: number): void;
  dropped(s: number, now: number): void;
  tally(now: number): { checked: number; stale: number; missing: number };
}

const soak = (name: string): Promise<Record<string, unknown>> => import(new URL(`../../scripts/soak/${name}`, import.meta.url).href);
const { Ledger, MARGIN_MS } = (await soak('ledger.mjs')) as { Ledger: new () => LedgerT; MARGIN_MS: number };
const { WillLedger, RetainedLedger } = (await soak('checks.mjs')) as { WillLedger: new () => WillsT; RetainedLedger: new () => RetainedT };
const { levelOff } = (await soak('level-off.mjs')) as { levelOff: (v: number[]) => { judged: boolean; ok: boolean } };

/** Publisher 0 sends a message at `at` that is acked 10 ms later; returns its seq. */
function publish(l: LedgerT, qos: number, at: number, acked = true): number {
  const seq = l.sent(0, qos, at);
  if (acked) l.acked(0, qos, seq, at + 10);
  return seq;
}

function row(l: LedgerT, qos: number, now = 1e9): Row {
  return l.tally(now, true)[qos]!;
}

describe('soak ledger', () => {
  it('counts an acknowledged message that never reached an online subscriber as lost, and none when it arrived', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addSubscriber(1, 0, false);
    l.online(1, 0);
    l.subscribed(1, 100);
    const a = publish(l, 1, 1000);
    const b = publish(l, 1, 2000);
    l.received(1, 0, 1, a, 1, 1020);
    expect(row(l, 1)).toMatchObject({ sent: 2, acked: 2, received: 1, lost: 1, dup: 0 });
    l.received(1, 0, 1, b, 1, 2020);
    expect(row(l, 1)).toMatchObject({ lost: 0 });
  });

  it('counts a second arrival as a duplicate at QoS 1 and 2 alike (the verdict tells them apart)', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addSubscriber(1, 0, true);
    l.subscribed(1, 0);
    const a = publish(l, 2, 1000);
    const b = publish(l, 1, 1000);
    for (let i = 0; i < 2; i++) {
      l.received(1, 0, 2, a, 2, 1100);
      l.received(1, 0, 1, b, 1, 1100);
    }
    expect(row(l, 2)).toMatchObject({ received: 1, deliveries: 2, dup: 1, lost: 0 });
    expect(row(l, 1)).toMatchObject({ received: 1, deliveries: 2, dup: 1, lost: 0 });
  });

  it('owes a persistent subscriber what was sent while it was offline, but a clean one only what came between its SUBACK and its drop', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addSubscriber(1, 0, true);
    l.addSubscriber(2, 0, false);
    for (const s of [1, 2]) {
      l.online(s, 0);
      l.subscribed(s, 100);
      l.offline(s, 5000);
    }
    publish(l, 1, 6000); // both offline
    expect(row(l, 1).lost).toBe(1); // owed to the persistent one only
    l.online(2, 7000);
    l.subscribed(2, 7100);
    publish(l, 2, 7100 + MARGIN_MS / 2); // inside the margin after the clean one's SUBACK: not judged
    publish(l, 2, 8000); // owed to both
    expect(row(l, 2).lost).toBe(3);
  });

  it('never counts unacknowledged or QoS 0 messages as lost', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addSubscriber(1, 0, true);
    l.subscribed(1, 0);
    publish(l, 0, 1000);
    publish(l, 1, 1000, false);
    expect(row(l, 0)).toMatchObject({ sent: 1, lost: null });
    expect(row(l, 1)).toMatchObject({ sent: 1, acked: 0, lost: 0 });
  });

  it('while running, counts as lost only what is overdue to a subscriber that has been online a while', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addSubscriber(1, 0, true);
    l.online(1, 0);
    l.subscribed(1, 100);
    publish(l, 1, 1000);
    expect(l.tally(2000, false)[1]!.lost).toBe(0);
    expect(l.tally(20_000, false)[1]!.lost).toBe(1);
    l.offline(1, 20_000);
    expect(l.tally(30_000, false)[1]!.lost).toBe(0);
  });

  it('counts a message of another publisher, or at another QoS, as an error', () => {
    const l = new Ledger();
    l.addPublisher(0);
    l.addPublisher(1);
    l.addSubscriber(5, 0, false);
    l.received(5, 1, 1, 0, 1, 0);
    l.received(5, 0, 2, 0, 1, 0);
    expect({ misrouted: l.misrouted, wrongQos: l.wrongQos }).toEqual({ misrouted: 1, wrongQos: 1 });
  });
});

describe('soak wills and retained', () => {
  it('owes a will for a drop without DISCONNECT, none for a clean one, and judges attempts that never got CONNACK not at all', () => {
    const w = new WillLedger();
    for (const i of [1, 2, 3, 4]) w.opened(7, i);
    w.ended(7, 1, 'dropped', 1000);
    w.ended(7, 2, 'clean', 1000);
    w.ended(7, 3, 'uncertain', 1000);
    expect(w.tally(2000, false)).toMatchObject({ expected: 1, missing: 0 });
    expect(w.tally(10_000, false)).toMatchObject({ expected: 1, missing: 1 });
    w.arrived('7:1', 3000);
    w.arrived('7:3', 3000);
    expect(w.tally(10_000, true)).toMatchObject({ arrived: 1, missing: 0, unexpected: 0 });
    w.arrived('7:2', 3000); // disconnected cleanly
    w.arrived('7:4', 3000); // still connected
    expect(w.tally(10_000, true)).toMatchObject({ unexpected: 2 });
  });

  it('counts a will read just before the close of the connection it stood for, and not one whose connection stays open', () => {
    const w = new WillLedger();
    w.opened(1, 1);
    w.opened(2, 1);
    w.arrived('1:1', 1000); // the broker closed it; its socket's close is read next
    w.ended(1, 1, 'dropped', 1001);
    w.arrived('2:1', 1000);
    expect(w.tally(2000, false)).toMatchObject({ expected: 1, arrived: 1, missing: 0, unexpected: 0 });
    expect(w.tally(10_000, false)).toMatchObject({ unexpected: 1 });
    expect(w.tally(10_000, true)).toMatchObject({ expected: 1, arrived: 1, missing: 0, unexpected: 1 });
  });

  it('flags a retained value older than the one acknowledged before SUBSCRIBE, and a subscription that got none', () => {
    const r = new RetainedLedger();
    r.acked(0, 4);
    r.subscribing(1, 0);
    r.subacked(1, 100);
    r.arrived(1, 0, 3);
    r.subscribing(2, 0);
    r.subacked(2, 100);
    r.arrived(2, 0, 5);
    r.subscribing(3, 0);
    r.subacked(3, 100);
    r.subscribing(4, 0);
    r.subacked(4, 100);
    r.dropped(4, 200); // gone before it could be judged
    expect(r.tally(1000)).toEqual({ checked: 2, stale: 1, missing: 0 });
    expect(r.tally(10_000)).toEqual({ checked: 2, stale: 1, missing: 1 });
  });
});

describe('soak RSS level-off', () => {
  const MB = 1024 * 1024;
  it('passes a flat or noisy series, fails one that keeps growing, and does not judge a short one', () => {
    expect(levelOff(Array.from({ length: 12 }, (_, i) => (80 + (i % 3)) * MB))).toMatchObject({ judged: true, ok: true });
    expect(levelOff(Array.from({ length: 12 }, (_, i) => (80 + 10 * i) * MB))).toMatchObject({ judged: true, ok: false });
    expect(levelOff([1, 2, 3, 4, 5].map((v) => v * 100 * MB))).toMatchObject({ judged: false, ok: true });
  });
});
