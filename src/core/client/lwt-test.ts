/**
 * runLwtTest(): proves that a broker publishes a client's will when the client dies, and not
 * when it leaves politely. A watcher (MQTT.js, through connect.ts) subscribes to the will
 * topic; a victim (raw-client.ts, our codec) connects with the will and ends as the mode says;
 * the watcher's view decides. Pure data out (LwtModeResult per mode); no rendering here.
 *
 * What each mode expects, from the spec:
 *   kill                  the transport closes without DISCONNECT → the will [MQTT-3.1.2-8]
 *   keepalive             silence for 1.5 × keep-alive → the broker disconnects "as if the network
 *                         had failed" → the will (3.1.1 [MQTT-3.1.2-24], 5.0 [MQTT-3.1.2-22])
 *   graceful              DISCONNECT 0x00 → no will [MQTT-3.14.4-3]
 *   disconnect-with-will  5.0 DISCONNECT 0x04 → the will (5.0 section 3.14.2.1); 3.1.1 has no
 *                         reason codes, so the mode is skipped there
 *   takeover              a second CONNECT with the same client id. The broker must close the
 *                         first connection (3.1.1 [MQTT-3.1.4-2], 5.0 [MQTT-3.1.4-3]). 5.0:
 *                         the first connection's will is published (section 3.1.4), at once:
 *                         the second CONNECT has Clean Start 1, which ends the session, and a
 *                         will waits for its delay only while the session lives (3.1.3.2.2).
 *                         3.1.1 leaves the will open: section 3.1.2.5 lists when it is
 *                         published "including but not limited to" and takeover is not listed.
 *                         Brokers differ (mosquitto 2.0 publishes it when both sessions are
 *                         clean, mqt's broker does not), so either outcome passes.
 *
 * Timing: a will is due at the victim's end (kill, DISCONNECT 0x04, takeover) plus the will
 * delay (5.0), which the broker may cut short only by ending the session, i.e. after the
 * Session Expiry Interval (3.1.3.2.2); or at 1.5 × keep-alive (the broker's Server Keep Alive
 * when it sets one). It must come by due + timeout (--timeout), or the mode fails saying how
 * late it was: the watcher watches a little longer than that (lateWatchMs: for keepalive
 * KEEPALIVE_SLACK_MS, as brokers check keep-alives on a timer of their own) to tell a late
 * will from a missing one. A will that must not come is watched for until due + timeout.
 */
import { randomBytes } from 'node:crypto';
import type { IPublishPacket } from 'mqtt';
import { ReasonCode } from '../codec/constants.js';
import type { QoS, Will } from '../codec/types.js';
import { connect, type Connection, type ConnectHooks } from './connect.js';
import { now, RawClient, type RawConnectOptions } from './raw-client.js';
import type { ConnectionOptions, ProtocolLevel } from './types.js';
import { expectationOf, judge, lateWatchMs, seconds, type Arrival, type LwtMode, type LwtModeResult, type ModeObservation } from './lwt-verdict.js';

export * from './lwt-verdict.js';

/** How long the new subscriber waits for the retained will after subscribing. */
const RETAINED_WAIT_MS = 2000;
/** The victim's keep-alive in the modes that do not test it: long enough never to matter. */
const QUIET_KEEPALIVE = 60;

export interface LwtTestOptions {
  /** The broker and how to reach it (also the victim's user, password, CONNECT properties). */
  connection: ConnectionOptions;
  /** The will; `topic` undefined: a fresh `mqt/lwt-test/<random>` per mode. */
  will: Omit<Will, 'topic'> & { topic: string | undefined };
  /** When the user gave no payload, each mode's default payload names the mode. */
  defaultPayload: boolean;
  modes: readonly LwtMode[];
  /** The victim's client id; undefined: `mqt-lwt-test-<random>` per mode. */
  clientId?: string | undefined;
  /** The victim's keep-alive in the keepalive mode, seconds (≥ 1). */
  keepalive: number;
  /** How late past its due time a will may come (later fails), and how long past it to watch for one that must not come. */
  timeoutMs: number;
  /** Flags that need MQTT 5, so a broker refusing 5 is an error rather than a silent 3.1.1. */
  needsMqtt5?: readonly string[] | undefined;
}

export interface LwtHooks {
  /** The watcher is connected; `protocolVersion` is what every client of the run speaks. */
  onConnected?: ((protocolVersion: ProtocolLevel) => void) | undefined;
  onMode?: ((mode: LwtMode, what: string) => void) | undefined;
  onResult?: ((result: LwtModeResult) => void) | undefined;
  /** Told when the watcher falls back to 3.1.1. */
  onFallback?: ConnectHooks['onFallback'];
  onPacket?: ConnectHooks['onPacket'];
  onRawPacket?: RawConnectOptions['onPacket'];
}

/** A failure of the test set-up (not of the broker's will handling): a refused subscription. */
export class LwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LwtError';
  }
}

const hex = (): string => randomBytes(4).toString('hex');

/** The watcher's and the retained check's connection: the user's broker and credentials, no will, no session. */
function observerOptions(connection: ConnectionOptions, clientId: string): ConnectionOptions {
  return { ...connection, clientId, will: undefined, properties: undefined, clean: true, keepalive: QUIET_KEEPALIVE, reconnect: false };
}

export async function runLwtTest(options: LwtTestOptions, hooks: LwtHooks = {}): Promise<LwtModeResult[]> {
  const watcher = await connect(observerOptions(options.connection, `mqt-lwt-watch-${hex()}`), { needsMqtt5: options.needsMqtt5, onFallback: hooks.onFallback, onPacket: hooks.onPacket });
  hooks.onConnected?.(watcher.protocolVersion);
  const results: LwtModeResult[] = [];
  try {
    for (const mode of options.modes) {
      const result = await runMode(mode, options, watcher, hooks);
      results.push(result);
      hooks.onResult?.(result);
    }
  } finally {
    await watcher.end();
  }
  return results;
}

async function runMode(mode: LwtMode, options: LwtTestOptions, watcher: Connection, hooks: LwtHooks): Promise<LwtModeResult> {
  const version = watcher.protocolVersion;
  const v5 = version === 5;
  const topic = options.will.topic ?? `mqt/lwt-test/${hex()}`;
  const clientId = options.clientId ?? `mqt-lwt-test-${hex()}`;
  const payload = options.defaultPayload ? Buffer.from(`mqt lwt-test: ${mode}`) : options.will.payload;
  const will: Will = { topic, payload, qos: options.will.qos, retain: options.will.retain, ...(v5 && options.will.properties ? { properties: options.will.properties } : {}) };
  const expected = expectationOf(mode, version);
  const say = (what: string): void => hooks.onMode?.(mode, what);
  const skeleton: ModeObservation = { mode, protocolVersion: version, expected, will, grantedQos: 2, dueMs: 0, timeoutMs: options.timeoutMs, deadlineMs: 0, willDelay: undefined, arrivals: [], retained: undefined, takeover: undefined };
  if (expected === 'skipped') return { ...judge(skeleton), topic, clientId };

  // The delay in force: a will waits for its delay only while the session lives (3.1.3.2.2).
  const connectProps = v5 ? options.connection.properties : undefined;
  const sessionExpiry = connectProps?.sessionExpiryInterval ?? 0;
  const willDelay = v5 && will.properties?.willDelayInterval !== undefined ? Math.min(will.properties.willDelayInterval, sessionExpiry) : undefined;

  say(`subscribing to ${topic}`);
  const grantedQos = await subscribe(watcher, topic);
  const arrivals: Arrival[] = [];
  const waiter = new Waiter();
  const onPacket = (packet: { cmd: string }): void => {
    if (packet.cmd !== 'publish' || (packet as IPublishPacket).topic !== topic) return;
    arrivals.push({ at: now(), packet: packet as IPublishPacket });
    waiter.poke();
  };
  watcher.client.on('packetreceive', onPacket);

  const victimOptions: RawConnectOptions = {
    connection: options.connection,
    clientId,
    protocolVersion: version,
    keepalive: mode === 'keepalive' ? options.keepalive : QUIET_KEEPALIVE,
    // -c keeps the victim's session; the second connection of takeover always starts clean.
    clean: options.connection.clean,
    will,
    properties: connectProps,
    onPacket: hooks.onRawPacket,
  };
  const victims: RawClient[] = [];
  try {
    say('connecting the client with the will');
    const victim = await RawClient.connect(victimOptions);
    victims.push(victim);
    // Anything on the topic before now (a retained message of a topic the user chose) is not the will.
    arrivals.length = 0;
    let endedAt = now();
    let dueMs = (willDelay ?? 0) * 1000;
    let takeover: ModeObservation['takeover'];
    switch (mode) {
      case 'kill':
        say('destroying its connection without DISCONNECT');
        endedAt = now();
        victim.kill();
        break;
      case 'keepalive': {
        // Its last packet was CONNECT; the broker's clock starts there.
        endedAt = victim.connackAt;
        // A 5.0 broker may impose its own keep-alive (Server Keep Alive, 3.2.2.3.14).
        const keepalive = victim.connack.properties?.serverKeepAlive ?? options.keepalive;
        dueMs += keepalive * 1500;
        say(`silent; keep-alive ${keepalive} s, the broker should give up after ${keepalive * 1.5} s`);
        break;
      }
      case 'graceful':
        say('sending DISCONNECT');
        endedAt = now();
        victim.disconnect(ReasonCode.NormalDisconnection);
        break;
      case 'disconnect-with-will':
        say('sending DISCONNECT 0x04 (with will message)');
        endedAt = now();
        victim.disconnect(ReasonCode.DisconnectWithWillMessage);
        break;
      case 'takeover': {
        say('connecting a second client with the same client id');
        endedAt = now();
        // Clean Start 1 ends the first session, so in 5.0 its will is due at once, delay or not.
        dueMs = 0;
        const second = await RawClient.connect({ ...victimOptions, clean: true, will: undefined, keepalive: QUIET_KEEPALIVE, properties: undefined });
        victims.push(second);
        break;
      }
    }
    // Past due + timeout a will fails, but is still watched for a while to say how late it came.
    const deadlineMs = dueMs + options.timeoutMs + (expected === 'will' ? lateWatchMs(mode) : 0);
    const deadline = endedAt + deadlineMs;
    say(expected === 'no will' ? `watching ${topic} for ${seconds(deadlineMs)}: no will may arrive` : `waiting for the will on ${topic}`);
    // A will that must not come is watched for until the deadline; one that may or must, until it comes.
    await waiter.until(() => expected !== 'no will' && arrivals.length > 0, deadline);
    if (mode === 'takeover') {
      const closed = await Promise.race([victim.closed, waitUntil(deadline)]);
      takeover = { closed: closed !== undefined && closed.by === 'broker', reasonCode: closed?.disconnect?.reasonCode };
    }
    const observedArrivals = arrivals.map((a) => ({
      latencyMs: Math.round(a.at - endedAt),
      payload: a.packet.payload as Buffer,
      qos: a.packet.qos,
      retain: a.packet.retain,
      properties: a.packet.properties as Record<string, unknown> | undefined,
    }));
    let retained: ModeObservation['retained'];
    if (will.retain) {
      // Whether or not a will arrived, nothing of this run may stay retained on the broker.
      const arrived = observedArrivals.length > 0;
      const present = arrived ? await retainedWillPresent({ ...options.connection, protocolVersion: version, fallback: false }, topic, payload) : false;
      say('clearing the retained will');
      const cleared = await clearRetained(watcher, topic);
      if (arrived) retained = { present, cleared };
    }
    const verdict = judge({ ...skeleton, grantedQos, dueMs, deadlineMs, willDelay, arrivals: observedArrivals, retained, takeover });
    // A client closes on a protocol violation (3.1.1 [MQTT-4.8.0-1]); the victim did, so what the
    // mode observed after that is not the mode's: the broker failed it.
    const malformed = victims.find((v) => v.malformed !== undefined)?.malformed;
    if (malformed !== undefined) {
      return { ...verdict, pass: false, problems: [`the broker sent the client with the will a malformed packet (${malformed}); the client closed the connection`, ...verdict.problems], topic, clientId };
    }
    return { ...verdict, topic, clientId };
  } finally {
    watcher.client.off('packetreceive', onPacket);
    for (const v of victims) {
      // The second connection of takeover leaves politely; a victim still open is cut off.
      if (v !== victims[0]) v.disconnect(ReasonCode.NormalDisconnection);
      else v.destroy();
    }
    await watcher.client.unsubscribeAsync(topic).catch(() => undefined);
  }
}

function waitUntil(deadline: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), Math.max(0, deadline - now())));
}

/** Subscribes the watcher at QoS 2, retained messages not sent (5.0), flags as published; returns the granted QoS. */
async function subscribe(watcher: Connection, topic: string): Promise<QoS> {
  let granted: number | undefined;
  try {
    const grants = await watcher.client.subscribeAsync(topic, { qos: 2, rap: true, rh: 2 });
    granted = grants[0]?.qos;
  } catch (err) {
    throw new LwtError(`the broker refused the subscription to the will topic ${topic}: ${(err as Error).message}`);
  }
  if (granted === undefined || granted > 2) throw new LwtError(`the broker refused the subscription to the will topic ${topic}${granted !== undefined ? ` (0x${granted.toString(16)})` : ''}: check its access rules, or choose another --will-topic`);
  return granted as QoS;
}

/** A new subscriber gets the will as a retained message (with the retain flag set, 3.1.1 [MQTT-3.3.1-8]). */
async function retainedWillPresent(connection: ConnectionOptions, topic: string, payload: Buffer): Promise<boolean> {
  const checker = await connect(observerOptions(connection, `mqt-lwt-check-${hex()}`));
  try {
    let found = false;
    const waiter = new Waiter();
    checker.client.on('message', (t, p, packet) => {
      if (t === topic && packet.retain && p.equals(payload)) found = true;
      waiter.poke();
    });
    await checker.client.subscribeAsync(topic, { qos: 1 });
    await waiter.until(() => found, now() + RETAINED_WAIT_MS);
    return found;
  } finally {
    await checker.end();
  }
}

/** An empty retained message removes the retained one (3.1.1 [MQTT-3.3.1-10], 5.0 [MQTT-3.3.1-6]). */
async function clearRetained(watcher: Connection, topic: string): Promise<boolean> {
  try {
    await watcher.client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
    return true;
  } catch {
    return false;
  }
}

/** Resolves when `ready()` is true (checked on each `poke`) or at `deadline` (performance.now()). */
class Waiter {
  private wake: (() => void) | undefined;
  poke(): void {
    this.wake?.();
  }
  async until(ready: () => boolean, deadline: number): Promise<void> {
    while (!ready()) {
      const left = deadline - now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}
