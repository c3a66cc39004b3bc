/**
 * Steady load for the slow-reader test, on TestClients over TCP: paced publishers that keep a
 * window of unacknowledged QoS 1 messages (or respect their socket's back-pressure at QoS 0),
 * subscribers that acknowledge everything and note what they got, and a latency probe pair.
 * Everything is bounded by rate and window, so a held-back publisher stops instead of piling
 * messages up in the test process, and stop() ends every timer.
 */
import type { TestClient } from '../helpers/broker-client.js';
import type { Packet, QoS } from '../../src/core/codec/types.js';

/** Reads every packet `client` gets until it closes, handing each to `on`. */
export function pump(client: TestClient, on: (p: Packet) => void): void {
  const loop = async (): Promise<void> => {
    for (;;) {
      let p: Packet;
      try {
        p = await client.next(3_600_000);
      } catch {
        return; // closed
      }
      on(p);
    }
  };
  void loop();
}

/** A subscriber that acknowledges every PUBLISH (QoS 1) and hands its payload to `got`. */
export function acknowledging(client: TestClient, got: (payload: string, qos: QoS) => void): void {
  const reason = client.version === 5 ? { reasonCode: 0 } : {};
  pump(client, (p) => {
    if (p.type !== 'publish') return;
    if (p.qos === 1) client.send({ type: 'puback', packetId: p.packetId!, ...reason });
    got(p.payload.toString(), p.qos);
  });
}

/** A publisher's message id from its padded payload (`a-17.....` → `a-17`): the tests keep ids, not megabytes of padding. */
export function idOf(payload: string): string {
  const end = payload.indexOf('.');
  return end === -1 ? payload : payload.slice(0, end);
}

export interface Publisher {
  /** Ids of the messages sent, in order. */
  readonly sent: string[];
  /** When each PUBACK arrived (ms since the epoch), QoS 1 only. */
  readonly acks: number[];
  /** Ids of the messages acknowledged (QoS 1). */
  readonly acked: Set<string>;
  /** Unacknowledged QoS 1 messages now. */
  pending(): number;
  stop(): void;
}

/**
 * Publishes `ratePerSecond` messages of `size` bytes to `topic` (payload: the id
 * `${name}-${seq}` padded with dots), in ticks of 10 ms; QoS 1 keeps at most `window` unacknowledged, QoS 0 waits while
 * its socket holds more than 64 KiB unsent.
 */
export function publisher(client: TestClient, name: string, topic: string, qos: 0 | 1, ratePerSecond: number, size: number, window = 50): Publisher {
  const sent: string[] = [];
  const acks: number[] = [];
  const acked = new Set<string>();
  const inflight = new Map<number, string>();
  let seq = 0;
  let due = 0;
  pump(client, (p) => {
    if (p.type !== 'puback') return;
    const payload = inflight.get(p.packetId);
    if (payload === undefined) return;
    inflight.delete(p.packetId);
    acked.add(payload);
    acks.push(Date.now());
  });
  const timer = setInterval(() => {
    // A held publisher does not catch up in a burst afterwards: at most two ticks' worth wait.
    due = Math.min(due + ratePerSecond / 100, Math.max(1, ratePerSecond / 50));
    while (due >= 1) {
      if (client.closed) return;
      if (qos === 1 && inflight.size >= window) return; // held: the next tick tries again
      if (qos === 0 && client.stream.writableLength > 65_536) return;
      due--;
      const id = `${name}-${++seq}`;
      const payload = id.padEnd(size, '.');
      const packetId = client.publish(topic, payload, { qos });
      if (qos === 1) inflight.set(packetId, id);
      sent.push(id);
    }
  }, 10);
  return { sent, acks, acked, pending: () => inflight.size, stop: () => clearInterval(timer) };
}

export interface Probe {
  /** Publish-to-delivery latencies (ms), tagged with the phase they were sent in. */
  readonly samples: { phase: string; ms: number }[];
  /** Probe messages sent and not (yet) received. */
  missing(): number;
  phase: string;
  stop(): void;
}

/**
 * A latency probe: `from` publishes a QoS 1 message to `topic` every `everyMs`, carrying its
 * send time; `to` (subscribed to it) acknowledges it and notes the time it took.
 */
export function probe(from: TestClient, to: TestClient, topic: string, everyMs: number): Probe {
  const samples: { phase: string; ms: number }[] = [];
  const outstanding = new Map<string, string>();
  let seq = 0;
  const self: Probe = {
    samples,
    phase: 'baseline',
    missing: () => outstanding.size,
    stop: () => clearInterval(timer),
  };
  pump(from, () => undefined); // PUBACKs
  acknowledging(to, (payload) => {
    const [id, at] = payload.split('@');
    const phase = outstanding.get(id!);
    if (phase === undefined) return;
    outstanding.delete(id!);
    samples.push({ phase, ms: performance.now() - Number(at) });
  });
  const timer = setInterval(() => {
    if (from.closed) return;
    const id = `probe-${++seq}`;
    outstanding.set(id, self.phase);
    from.publish(topic, `${id}@${performance.now()}`, { qos: 1 });
  }, everyMs);
  return self;
}

/** The `p`th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
