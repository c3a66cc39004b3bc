/**
 * The soak's clients and what happens to them over time.
 *
 * Of N connections: 5% publishers (half persistent), 10% persistent and 25% clean subscribers
 * (each to one publisher, so about 7 per publisher), one will watcher, and the rest idle (a
 * third with a will, a third persistent, a third clean). MQTT 3.1.1 and 5.0 half and half.
 *
 * Load: each publisher beats about once a second (QoS 0/1/2, a retained value every fifth
 * beat): N / 20 messages a second in, about N / 3 deliveries out, far below what the broker
 * can do; the soak is about staying stable. Churn: 20% of the clients a minute drop at
 * random, 70% abruptly (socket destroyed) and 30% with DISCONNECT, and reconnect after
 * 0.5 to 5 s (one in twenty after 20 to 40 s, so persistent sessions build a queue). A failed
 * attempt is retried after 1 to 3 s. At most CONNECTING connections wait for CONNACK at once.
 */
import { Idle, Publisher, Subscriber, WillWatcher } from './roles.mjs';

const CONNECTING = 200;
const BEAT_MS = 1000;
const TICK_MS = 100;
const CHURN_PER_MINUTE = 0.2;
const ABRUPT_SHARE = 0.7;

export class Population {
  constructor({ port, connections, random, ledger, wills, retained, now }) {
    this.random = random;
    this.now = now;
    this.stats = {
      initialFailed: 0,
      attempts: 0,
      reconnectAttempts: 0,
      reconnectsOk: 0,
      reconnectsFailed: 0,
      drops: { abrupt: 0, clean: 0 },
      brokerClosed: 0,
      connackTimeouts: 0,
      refused: 0,
      protocolErrors: 0,
      sessionsLost: 0,
      subscribeRefused: 0,
      refusedPublishes: 0,
      skippedBeats: 0,
      lastError: undefined,
    };
    this.ctx = { port, ledger, wills, retained, stats: this.stats, now, ended: (peer, wasOnline) => this.ended(peer, wasOnline) };
    this.peers = [];
    this.publishers = [];
    this.queue = [];
    this.connecting = 0;
    this.timers = new Set();
    this.loading = false;
    this.build(connections);
  }

  build(n) {
    const version = () => (this.random() < 0.5 ? 4 : 5);
    const publishers = Math.max(4, Math.round(n * 0.05));
    const persistentSubs = Math.round(n * 0.1);
    const cleanSubs = Math.round(n * 0.25);
    const idle = n - publishers - persistentSubs - cleanSubs - 1;
    this.counts = { publishers, persistentSubscribers: persistentSubs, cleanSubscribers: cleanSubs, willWatchers: 1, idle, idleWithWill: 0 };
    let i = 0;
    const add = (Role, spec) => {
      const peer = new Role(this.ctx, { index: i, version: version(), ...spec });
      this.peers.push(peer);
      i++;
      return peer;
    };
    this.watcher = add(WillWatcher, { clientId: 'soak-will-watcher', persistent: true });
    for (let k = 0; k < publishers; k++) this.publishers.push(add(Publisher, { clientId: `soak-pub-${k}`, persistent: k % 2 === 0, publisher: k }));
    for (let s = 0; s < persistentSubs + cleanSubs; s++) {
      const persistent = s < persistentSubs;
      add(Subscriber, { clientId: `soak-sub-${s}`, persistent, publisher: s % publishers });
    }
    for (let d = 0; d < idle; d++) {
      const kind = d % 3;
      if (kind === 0) this.counts.idleWithWill++;
      add(Idle, { clientId: `soak-idle-${d}`, persistent: kind === 1, will: kind === 0 });
    }
    for (const p of this.publishers) p.nextBeat = 0;
  }

  get online() {
    let n = 0;
    for (const p of this.peers) if (p.state === 'online') n++;
    return n;
  }

  /** Connects peer when a CONNECTING slot is free. */
  enqueue(peer) {
    if (peer.queued || peer.state !== 'offline') return;
    peer.queued = true;
    this.queue.push(peer);
    this.pump();
  }

  pump() {
    while (this.connecting < CONNECTING && this.queue.length > 0) {
      const peer = this.queue.shift();
      peer.queued = false;
      if (peer.state !== 'offline') continue;
      const initial = !peer.connectedOnce;
      this.connecting++;
      this.stats.attempts++;
      if (!initial) this.stats.reconnectAttempts++;
      void peer.connect().then((ok) => {
        this.connecting--;
        if (!initial) {
          if (ok) this.stats.reconnectsOk++;
          else this.stats.reconnectsFailed++;
        } else if (!ok) this.stats.initialFailed++;
        this.pump();
      });
    }
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** A connection of peer closed: come back later (or at once while draining). */
  ended(peer, wasOnline) {
    if (this.closing) return;
    if (this.draining) {
      this.enqueue(peer);
      return;
    }
    const r = this.random();
    const pause = !wasOnline ? 1000 + 2000 * r : r < 0.05 ? 20_000 + 20_000 * this.random() : 500 + 4500 * this.random();
    this.later(pause, () => this.enqueue(peer));
  }

  /** Connects the will watcher, then everyone; resolves once all are online or `timeoutMs` passed. */
  async ramp(timeoutMs) {
    this.enqueue(this.watcher);
    await this.until(() => this.watcher.ready === true, 20_000);
    for (const p of this.peers) this.enqueue(p);
    await this.until(() => this.online === this.peers.length, timeoutMs);
    return this.online;
  }

  async until(test, timeoutMs) {
    const end = Date.now() + timeoutMs;
    while (!test() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return test();
  }

  startLoad() {
    this.loading = true;
    const start = this.now();
    for (const p of this.publishers) p.nextBeat = start + BEAT_MS * this.random();
    let churnBudget = 0;
    this.tick = setInterval(() => {
      const now = this.now();
      for (const p of this.publishers) {
        if (p.nextBeat > now) continue;
        p.nextBeat = Math.max(p.nextBeat + BEAT_MS * (0.5 + this.random()), now);
        p.beat(now, this.random);
      }
      churnBudget += (this.peers.length * CHURN_PER_MINUTE * TICK_MS) / 60_000;
      for (; churnBudget >= 1; churnBudget--) {
        const peer = this.peers[1 + Math.floor(this.random() * (this.peers.length - 1))];
        if (peer.state !== 'online') continue;
        const how = this.random() < ABRUPT_SHARE ? 'abrupt' : 'clean';
        this.stats.drops[how]++;
        peer.drop(how);
      }
    }, TICK_MS);
    this.keepalive = setInterval(() => {
      const now = this.now();
      for (const p of this.peers) p.ping(now);
    }, 10_000);
  }

  /**
   * Stops the load and brings everyone back: no more publishing or drops, every client
   * offline reconnects now. Resolves once all are online, no publisher waits for an
   * acknowledgement and nothing has arrived for `quietMs`, or `timeoutMs` passed.
   */
  async drain(quietMs, timeoutMs) {
    this.loading = false;
    clearInterval(this.tick);
    this.draining = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.peers) if (p.state === 'offline') this.enqueue(p);
    const quiet = () => {
      const now = this.now();
      const last = Math.max(this.ctx.ledger.lastArrival, this.ctx.wills.lastArrival);
      return this.online === this.peers.length && this.publishers.every((p) => p.inflight.size === 0) && now - last >= quietMs;
    };
    const ok = await this.until(quiet, timeoutMs);
    return ok;
  }

  /** DISCONNECT from everyone; resolves once every socket closed (or after 10 s). */
  async close() {
    this.closing = true;
    clearInterval(this.tick);
    clearInterval(this.keepalive);
    for (const t of this.timers) clearTimeout(t);
    this.queue.length = 0;
    for (const p of this.peers) p.drop('clean');
    await this.until(() => this.peers.every((p) => p.socket === null), 10_000);
    for (const p of this.peers) p.socket?.destroy();
  }
}
