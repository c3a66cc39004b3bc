/**
 * Last wills (MQTT 5.0 section 3.1.2.5): set at CONNECT, discarded by a normal DISCONNECT
 * [MQTT-3.14.4-3], published after any other end [MQTT-3.1.2-8], at once or after the Will
 * Delay Interval. The delay ends early when the session ends first, and a reconnect in time
 * cancels it [MQTT-3.1.3-9]. A pending will is part of the session's record, with an absolute
 * deadline, so a store can keep it across a restart.
 */
import type { Properties, Will } from '../codec/types.js';
import { clientSnapshot } from './client-info.js';
import { isPromise } from './hooks.js';
import type { Message } from './message.js';
import { Deadline, type Scheduler } from './scheduler.js';
import type { Session } from './session.js';
import type { ClientInfo, Hooks } from './types.js';

/** What publishing a will needs of the broker. */
export interface WillHost {
  readonly hooks: Hooks;
  createMessage(topic: string, payload: Buffer, qos: Will['qos'], retain: boolean, properties: Properties | undefined, publisherId: string): Message;
  publish(msg: Message, from: ClientInfo | undefined, now: number): number;
  willPublished(client: ClientInfo, msg: Message): void;
  log(level: 'error', message: string): void;
}

/** Will properties that travel with the will message; the delay is the broker's business. */
function willMessageProperties(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const { willDelayInterval: _delay, messageExpiryInterval: _expiry, ...rest } = props;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

export class Wills {
  constructor(
    private readonly host: WillHost,
    private readonly scheduler: Scheduler,
  ) {}

  /** The connection ended uncleanly: publish its will now, or after its delay. */
  connectionLost(session: Session, will: Will, client: ClientInfo): void {
    const delay = will.properties?.willDelayInterval ?? 0;
    const from = clientSnapshot(client);
    const now = this.scheduler.now();
    const pending = { will, from, at: now };
    session.record.will = pending;
    session.journal?.changed(session.record);
    if (delay > 0 && session.expiryInterval > 0) {
      // The will waits for the shorter of its delay and the session's expiry.
      pending.at = now + Math.min(delay, session.expiryInterval) * 1000;
      this.publishAt(session, pending.at);
      return;
    }
    this.publishPending(session);
  }

  /** The session's pending will goes out at `at` (absolute ms) unless cancelled first. */
  private publishAt(session: Session, at: number): void {
    session.willDelay ??= new Deadline(() => this.publishPending(session));
    this.scheduler.schedule(session.willDelay, at);
  }

  /** A will read back from the store: published at its deadline, or now when that has passed. */
  restored(session: Session, now: number): void {
    const pending = session.record.will;
    if (pending === undefined) return;
    if (pending.at <= now) {
      this.publishPending(session);
      return;
    }
    this.publishAt(session, pending.at);
  }

  /** The client came back in time: its delayed will is not sent [MQTT-3.1.3-9]. */
  cancel(session: Session): void {
    if (session.record.will !== undefined) {
      session.record.will = undefined;
      session.journal?.changed(session.record);
    }
    if (session.willDelay !== undefined) this.scheduler.cancel(session.willDelay);
  }

  /**
   * Publishes the session's pending will, if any, once authorizePublish allows it for the
   * client that set it: a will is a publish like any other ($SYS stays the broker's).
   */
  publishPending(session: Session): void {
    const pending = session.record.will;
    if (pending === undefined) return;
    this.cancel(session);
    const { will, from } = pending;
    const msg = this.host.createMessage(will.topic, will.payload, will.qos, will.retain, willMessageProperties(will.properties), from.clientId);
    const expiry = will.properties?.messageExpiryInterval;
    if (expiry !== undefined) msg.expiresAt = this.scheduler.now() + expiry * 1000;
    const allowed = this.host.hooks.authorizePublish(from, will.topic, will.qos, will.retain);
    if (isPromise(allowed)) {
      allowed.then(
        (ok) => this.send(msg, from, ok),
        (err: unknown) => this.host.log('error', `authorizePublish failed for the will of ${from.clientId}: ${String(err)}`),
      );
    } else {
      this.send(msg, from, allowed);
    }
  }

  private send(msg: Message, from: ClientInfo, allowed: boolean): void {
    if (!allowed) return;
    this.host.willPublished(from, msg);
    this.host.publish(msg, from, this.scheduler.now());
  }
}
