/**
 * Removing retained messages from a broker, as a library: discover() what is retained under
 * some topic filters, select() the part to remove, clear() it with zero-length retained
 * publishes, verify() by subscribing again. Works over any Connection from connect.ts (MQTT 5
 * or 3.1.1, any transport); no CLI dependency.
 *
 * MQTT has no "end of the retained messages" marker (mqttjs/MQTT.js#1185): a broker sends them
 * after the SUBACK, as fast as it can, and then nothing tells the client it is done. The burst
 * is taken as over after a quiet period without a retained message, or at a hard timeout.
 */
import type { IClientPublishOptions, IClientSubscribeOptions, IPublishPacket } from 'mqtt';
import type { Properties, QoS } from '../codec/types.js';
import { topicMatches } from '../topic/match.js';
import type { Connection } from './connect.js';
import { toMqttJsProperties } from './properties.js';
import { DEFAULT_WINDOW, Publisher, PublishError } from './publisher.js';

/** A retained message as discovery saw it. */
export interface RetainedMessage {
  topic: string;
  /** Payload size in bytes. */
  bytes: number;
  /** The QoS it was delivered with (at most the subscription's, 1). */
  qos: QoS;
  /**
   * MQTT 5: seconds until the broker discards it. The broker forwards the Message Expiry
   * Interval minus the time the message has waited (5.0 section 3.3.2.3.3), which is the only
   * hint of age MQTT gives; absent for a message that never expires and in 3.1.1.
   */
  expiresInS?: number | undefined;
  /** The payload, only when discover() was asked to keep payloads. */
  payload?: Buffer | undefined;
}

export interface DiscoverOptions {
  /** The burst is over after this long without a retained message (counted from the SUBACK). */
  quietMs: number;
  /** Stop listening after this long whatever arrives (counted from the SUBSCRIBE). */
  timeoutMs: number;
  /** Keep each message's payload (for a listing that shows them). Off: only sizes are kept. */
  keepPayloads?: boolean | undefined;
  /** MQTT 5 SUBSCRIBE properties (user properties from -D subscribe). */
  subscribeProperties?: Properties | undefined;
  /** MQTT 5 UNSUBSCRIBE properties (-D unsubscribe). */
  unsubscribeProperties?: Properties | undefined;
  /** Told the number of distinct retained topics each time it grows. */
  onProgress?: ((found: number) => void) | undefined;
}

export interface RefusedFilter {
  filter: string;
  /** The SUBACK failure code: 0x80 in 3.1.1, a 5.0 reason code (0x87 Not authorized …). */
  reasonCode: number;
}

export interface Discovery {
  /** One per topic, in the order they first arrived. */
  messages: RetainedMessage[];
  /** Non-retained messages that arrived meanwhile (live traffic), left alone. */
  ignored: number;
  /** True when the hard timeout, not a quiet period, ended the burst: there may be more. */
  timedOut: boolean;
  /** Filters the broker refused to subscribe to; their retained messages are unknown. */
  refused: RefusedFilter[];
}

/** Connection trouble during a phase (lost, no SUBACK, every filter refused). */
export class RetainClearError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetainClearError';
  }
}

/** Why the connection ended, as a suffix for error messages. */
function lostMessage(conn: Connection, during: string): string {
  const o = conn.client.options;
  return `lost the connection to ${o.hostname ?? o.host ?? 'the broker'}:${o.port ?? ''} while ${during}`;
}

/**
 * Subscribes to `filters` (QoS 1, so a broker that queues delivery does not drop messages as
 * it may at QoS 0), collects the retained messages that arrive until the burst is over, then
 * unsubscribes: the empty publishes of clear() must not come back to us as live messages.
 */
export function discover(conn: Connection, filters: readonly string[], options: DiscoverOptions): Promise<Discovery> {
  const { client } = conn;
  // MQTT.js keys subscriptions by filter; SUBSCRIBE carries each one once.
  const unique = [...new Set(filters)];
  const found = new Map<string, RetainedMessage>();
  let ignored = 0;
  let subscribed = false;

  return new Promise<Discovery>((resolve, reject) => {
    let settled = false;
    let quietTimer: NodeJS.Timeout | undefined;
    let refused: RefusedFilter[] = [];

    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
      if (settled) return;
      // A message sent because of the new subscription carries the retain flag [MQTT-3.3.1-8]
      // (3.1.1); live ones do not: 3.1.1 [MQTT-3.3.1-9], 5.0 [MQTT-3.3.1-12] (Retain As
      // Published is off in our subscription).
      if (!packet.retain) {
        ignored++;
        return;
      }
      const expiry = packet.properties?.messageExpiryInterval;
      const sizeBefore = found.size;
      found.set(topic, {
        topic,
        bytes: payload.length,
        qos: packet.qos,
        expiresInS: expiry,
        payload: options.keepPayloads ? payload : undefined,
      });
      if (found.size !== sizeBefore) options.onProgress?.(found.size);
      // A retained message arriving before the SUBACK (some brokers send them first) does not
      // start the quiet period; the SUBACK does.
      if (subscribed) restartQuiet();
    };
    const onClose = (): void => finish(new RetainClearError(lostMessage(conn, 'looking for retained messages')));
    const hardTimer = setTimeout(() => {
      if (!subscribed) return finish(new RetainClearError(`no SUBACK within ${options.timeoutMs} ms`));
      finish(undefined, true);
    }, options.timeoutMs);

    function restartQuiet(): void {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => finish(undefined, false), options.quietMs);
    }

    function finish(error: Error | undefined, timedOut = false): void {
      if (settled) return;
      settled = true;
      clearTimeout(hardTimer);
      clearTimeout(quietTimer);
      client.off('message', onMessage);
      client.off('close', onClose);
      if (error !== undefined) return reject(error);
      const result: Discovery = { messages: [...found.values()], ignored, timedOut, refused };
      const granted = unique.filter((f) => !refused.some((r) => r.filter === f));
      if (granted.length === 0) return resolve(result);
      // Unsubscribe before anything else is sent on this connection. If the connection drops
      // meanwhile, what was found still stands (the next phase reports the loss).
      const done = (): void => {
        client.off('close', done);
        resolve(result);
      };
      client.once('close', done);
      const props = conn.protocolVersion === 5 ? toMqttJsProperties(options.unsubscribeProperties) : undefined;
      client.unsubscribe(granted, props === undefined ? {} : { properties: props as IClientSubscribeOptions['properties'] }, done);
    }

    client.on('message', onMessage);
    client.on('close', onClose);
    const subscribeOptions: IClientSubscribeOptions = { qos: 1 };
    if (conn.protocolVersion === 5) {
      // Retain Handling 0: send the retained messages on every subscribe, not only on a new one
      // (5.0 section 3.8.3.1), so a verification pass sees them again.
      subscribeOptions.rh = 0;
      const props = toMqttJsProperties(options.subscribeProperties);
      if (props !== undefined) subscribeOptions.properties = props as IClientSubscribeOptions['properties'];
    }
    client.subscribe(unique, subscribeOptions, (err, _granted, packet) => {
      if (settled) return;
      const suback = packet as { granted: number[] } | undefined;
      if (suback === undefined) return finish(new RetainClearError(`the broker did not acknowledge the subscription${err ? `: ${err.message}` : ''}`, { cause: err }));
      refused = [];
      suback.granted.forEach((code, i) => {
        // [MQTT-3.9.3-2] 0x80 (3.1.1) and every 5.0 code from 0x80 up are failures.
        if (code >= 0x80) refused.push({ filter: unique[i] ?? '?', reasonCode: code });
      });
      if (refused.length === unique.length) return finish(undefined, false);
      subscribed = true;
      restartQuiet();
    });
  });
}

export interface SelectOptions {
  /** Topic filters whose topics are left alone (--exclude). */
  exclude?: readonly string[] | undefined;
  /** Only topics this matches are kept (--match). */
  match?: RegExp | undefined;
}

export interface Selection {
  selected: RetainedMessage[];
  /** Left out by an exclude filter. */
  excluded: number;
  /** Left out because `match` did not match. */
  unmatched: number;
}

/** Narrows what discovery found to what will be cleared. Pure. */
export function select(messages: readonly RetainedMessage[], options: SelectOptions = {}): Selection {
  const exclude = options.exclude ?? [];
  const match = options.match;
  const selected: RetainedMessage[] = [];
  let excluded = 0;
  let unmatched = 0;
  for (const m of messages) {
    if (exclude.some((f) => topicMatches(f, m.topic))) {
      excluded++;
    } else if (match !== undefined && !testRegExp(match, m.topic)) {
      unmatched++;
    } else {
      selected.push(m);
    }
  }
  return { selected, excluded, unmatched };
}

/** RegExp.test without the lastIndex state a /g or /y expression carries from call to call. */
function testRegExp(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return re.test(s);
}

/** Publishes in flight at once unless the broker allows fewer (Receive Maximum, 5.0 section 3.2.2.3.3). */
export const DEFAULT_CLEAR_WINDOW = DEFAULT_WINDOW;

export interface ClearOptions {
  /** Publishes awaiting PUBACK at once. Default 256; never more than the broker's Receive Maximum. */
  window?: number | undefined;
  /** MQTT 5 PUBLISH properties for the clearing messages (user properties from -D publish). */
  publishProperties?: Properties | undefined;
  /** Told after each acknowledgement (or refusal). */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface RefusedPublish {
  topic: string;
  /** The PUBACK reason code (5.0), e.g. 0x87 Not authorized. */
  reasonCode: number;
}

export interface ClearResult {
  /** Empty retained publishes the broker acknowledged. */
  acknowledged: number;
  /** Publishes the broker refused with a PUBACK reason code ≥ 0x80. */
  refused: RefusedPublish[];
}

/**
 * Sends a zero-length retained PUBLISH at QoS 1 for each topic, which deletes the retained
 * message of that topic ([MQTT-3.3.1-10] 3.1.1, [MQTT-3.3.1-6] 5.0), keeping up to `window`
 * awaiting PUBACK so thousands of topics take seconds rather than a round trip each. QoS 1 as
 * mosquitto_sub --remove-retained does: the PUBACK says the broker has the deletion. Resolves
 * when every publish is acknowledged; rejects with RetainClearError if the connection is lost.
 */
export async function clear(conn: Connection, topics: readonly string[], options: ClearOptions = {}): Promise<ClearResult> {
  const total = topics.length;
  const result: ClearResult = { acknowledged: 0, refused: [] };
  if (total === 0) return result;
  const empty = Buffer.alloc(0);
  const publishOptions: IClientPublishOptions = { qos: 1, retain: true };
  if (conn.protocolVersion === 5) {
    const props = toMqttJsProperties(options.publishProperties);
    if (props !== undefined) publishOptions.properties = props as IClientPublishOptions['properties'];
  }
  let done = 0;
  const publisher: Publisher<undefined> = new Publisher<undefined>(conn, {
    window: options.window ?? DEFAULT_CLEAR_WINDOW,
    // A refusal is one topic left alone, reported at the end; the others are still cleared.
    continueOnRefusal: true,
    onSettled: (m) => {
      if (m.status === 'lost') return; // the loss stops the publisher, and clear() says how far it got
      if (m.status === 'failed') {
        publisher.abort(new RetainClearError(`publishing to '${m.topic}' failed: ${m.error?.message ?? 'unknown error'}`, { cause: m.error }));
        return;
      }
      if (m.status === 'refused') result.refused.push({ topic: m.topic, reasonCode: m.reasonCode ?? 0x80 });
      else result.acknowledged++;
      done++;
      options.onProgress?.(done, total);
    },
  });
  try {
    for (const topic of topics) {
      await publisher.ready();
      publisher.publish(topic, empty, publishOptions, undefined);
    }
    await publisher.drain();
  } catch (err) {
    if (err instanceof PublishError && err.reason === 'lost') throw new RetainClearError(`${lostMessage(conn, 'clearing')}; ${done} of ${total} acknowledged`, { cause: err });
    throw err;
  } finally {
    publisher.detach();
  }
  return result;
}

export interface Verification {
  /** Of the topics cleared, those that are still retained: the broker ignored the deletion. */
  stillRetained: RetainedMessage[];
  /**
   * Retained messages under the filters that were not among the topics cleared and are not
   * excluded: new ones published meanwhile, or ones the first discovery did not see.
   */
  appeared: RetainedMessage[];
  timedOut: boolean;
}

/**
 * Subscribes again, as a fresh subscription, and reports which of the cleared `topics` the
 * broker still holds. `selectOptions` are the ones used to choose the topics, so that
 * excluded topics do not count as "appeared".
 */
export async function verify(
  conn: Connection,
  filters: readonly string[],
  topics: readonly string[],
  options: DiscoverOptions,
  selectOptions: SelectOptions = {},
): Promise<Verification> {
  const found = await discover(conn, filters, options);
  const cleared = new Set(topics);
  const stillRetained: RetainedMessage[] = [];
  const rest: RetainedMessage[] = [];
  for (const m of found.messages) (cleared.has(m.topic) ? stillRetained : rest).push(m);
  return { stillRetained, appeared: select(rest, selectOptions).selected, timedOut: found.timedOut };
}
