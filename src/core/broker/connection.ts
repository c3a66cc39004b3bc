/**
 * One client connection: its parser, protocol state, write batching, keep-alive and flow
 * control. Handlers receive decoded packets and throw MqttError; this file alone turns an
 * error into a CONNACK, a DISCONNECT (5.0) or a plain close.
 */
import type { Duplex } from 'node:stream';
import { ALLOWED_REASON_CODES, PacketType, ReasonCode, reasonCodeName } from '../codec/constants.js';
import { encode } from '../codec/encode.js';
import { MqttError } from '../codec/errors.js';
import { Parser } from '../codec/parser.js';
import type { ConnackPacket, DisconnectPacket, Packet, Properties, ProtocolVersion, QoS, Will } from '../codec/types.js';
import type { Broker } from './broker.js';
import { dispatch } from './handlers/index.js';
import type { ClientInfo } from './hooks.js';
import { Message, packetIdOffset } from './message.js';
import { Outbox } from './outbox.js';
import type { Session } from './session.js';

export const enum State {
  /** Waiting for CONNECT. */
  New,
  /** CONNECT received, CONNACK not yet sent (authentication may be pending). */
  Connecting,
  Connected,
  Closed,
}

/** CONNACK return codes of 3.1/3.1.1 for the 5.0 reasons a server refuses with. */
function connackCodeV3(reason: number): number {
  switch (reason) {
    case ReasonCode.UnsupportedProtocolVersion:
      return 1;
    case ReasonCode.ClientIdentifierNotValid:
      return 2;
    case ReasonCode.BadUserNameOrPassword:
    case ReasonCode.BadAuthenticationMethod:
      return 4;
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
      return 5;
    default:
      return 3; // server unavailable: the closest 3.1.1 has for everything else
  }
}

let connectionCounter = 0;

function destroyStream(stream: Duplex): void {
  stream.destroy();
}

export class Connection implements ClientInfo {
  state = State.New;
  protocolVersion: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined = undefined;
  readonly remoteAddress: string | undefined;
  /** Unique per connection, for logs: client ids repeat across reconnects. */
  readonly id = ++connectionCounter;
  session: Session | null = null;
  will: Will | undefined = undefined;

  readonly parser: Parser;
  readonly outbox = new Outbox();
  /** In the broker's list of connections to flush at the end of this tick. */
  dirty = false;
  /**
   * Output is backing up (slow reader): QoS 0 is dropped, QoS 1/2 waits in the session queue.
   * Set when the stream holds more than maxClientBuffer; cleared by the callback of a write made
   * near that limit (flush), once the stream is back under it.
   */
  congested = false;

  /** Keep-alive in ms (1.5 x the negotiated value [MQTT-3.1.2-24]), 0 for none. */
  keepaliveMs = 0;
  /** When the connection was accepted: the broker closes it connectTimeoutMs later without a CONNECT. */
  readonly openedAt = Date.now();
  lastActivity = this.openedAt;
  private timer: NodeJS.Timeout | undefined;

  /** Limits the client announced in CONNECT (5.0), or their defaults. */
  sendQuota = 0;
  maxOutgoingPacket = 268_435_460;
  outAliasMax = 0;
  private outAliases: Map<string, number> | undefined;
  /** Topic aliases the client set towards us, by alias. */
  inAliases: Map<number, string> | undefined;
  /** 5.0 Request Problem Information: 0 means no reason strings or user properties on errors. */
  problemInfo = true;

  /**
   * Packets held back, in order: while an asynchronous hook is pending, or while this client
   * is throttled because a session it publishes to has a long queue.
   */
  private backlog: Packet[] | null = null;
  private hookPending = false;
  /** Sessions whose queues this connection waits on before routing more (Broker.throttle). */
  private waitingOn: Session[] = [];
  private readPaused = false;
  private readonly onDataBound = (chunk: Buffer): void => this.onData(chunk);
  /** Made for the first write near maxClientBuffer (see flush). */
  private onWrittenBound: (() => void) | undefined = undefined;

  constructor(
    readonly broker: Broker,
    readonly stream: Duplex,
    remoteAddress: string | undefined,
  ) {
    this.remoteAddress = remoteAddress;
    this.parser = new Parser({ maxPacketSize: broker.config.maxPacketSize });
    stream.on('data', this.onDataBound);
    stream.on('error', (err: Error) => this.close(`socket error: ${err.message}`, true));
    stream.on('close', () => this.close('socket closed', true));
    stream.on('end', () => this.close('socket closed', true));
    // A connection that never sends CONNECT is closed after connectTimeoutMs (Broker.handle).
  }

  get ready(): boolean {
    return this.state === State.Connected;
  }

  // ---- input ---------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === State.Closed) return;
    this.lastActivity = Date.now();
    let packets: Packet[];
    try {
      packets = this.parser.push(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.backlog !== null) this.hold(packets);
    else this.process(packets, 0);
  }

  private process(packets: Packet[], start: number): void {
    for (let i = start; i < packets.length; i++) {
      if (this.state === State.Closed) return;
      let pending: Promise<void> | void;
      try {
        pending = dispatch(this, packets[i]!);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (pending !== undefined) {
        // An asynchronous hook: hold the rest, in order, and stop reading until it settles.
        this.hookPending = true;
        this.backlog = packets.slice(i + 1);
        this.pauseReading();
        pending.then(
          () => {
            this.hookPending = false;
            this.resumeBacklog();
          },
          (err: unknown) => this.fail(err),
        );
        return;
      }
      if (this.waitingOn.length > 0) {
        this.backlog = packets.slice(i + 1);
        return;
      }
    }
  }

  /**
   * Packets arriving while held back. Acknowledgements and pings still go through when only
   * throttled: they route nothing, and they are what drains the queues we wait on.
   */
  private hold(packets: Packet[]): void {
    const backlog = this.backlog!;
    for (const p of packets) {
      const t = p.type;
      if (!this.hookPending && (t === 'puback' || t === 'pubcomp' || t === 'pubrec' || t === 'pingreq')) {
        try {
          dispatch(this, p);
        } catch (err) {
          this.fail(err);
          return;
        }
      } else {
        backlog.push(p);
      }
    }
    // Bounded: past this many held packets stop reading the socket altogether.
    if (backlog.length > 1000) this.pauseReading();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.stream.pause();
  }

  private resumeBacklog(): void {
    if (this.state === State.Closed || this.hookPending || this.waitingOn.length > 0) return;
    const backlog = this.backlog ?? [];
    this.backlog = null;
    if (this.readPaused) {
      this.readPaused = false;
      this.stream.resume();
    }
    this.process(backlog, 0);
  }

  /** Waits on `session`'s queue; false when already waiting on it. */
  waitFor(session: Session): boolean {
    if (this.waitingOn.includes(session)) return false;
    this.waitingOn.push(session);
    if (this.backlog === null) this.backlog = [];
    return true;
  }

  /** `session`'s queue drained (or it went away): route again once nothing else holds us. */
  unthrottle(session: Session): void {
    const i = this.waitingOn.indexOf(session);
    if (i === -1) return;
    this.waitingOn.splice(i, 1);
    // Resume on the next turn: the caller is in the middle of the other client's ack handling.
    if (this.waitingOn.length === 0) setImmediate(() => this.resumeBacklog());
  }

  /** Leaves every session's waiting list, when this connection ends. */
  releaseThrottles(): void {
    for (const session of this.waitingOn) {
      const list = session.throttled;
      if (list === null) continue;
      const i = list.indexOf(this);
      if (i !== -1) list.splice(i, 1);
    }
    this.waitingOn = [];
  }

  // ---- output --------------------------------------------------------------------------

  /** Queues a packet for this tick's write. */
  send(packet: Packet): void {
    if (this.state === State.Closed) return;
    this.outbox.push(encode(packet, this.protocolVersion));
    this.broker.markDirty(this);
  }

  sendBytes(buf: Buffer): void {
    if (this.state === State.Closed) return;
    this.outbox.push(buf);
    this.broker.markDirty(this);
  }

  /** Called by the broker once per tick: one write for everything queued. */
  flush(): void {
    this.dirty = false;
    const stream = this.stream;
    if (this.state === State.Closed && stream.destroyed) return;
    const limit = this.broker.config.maxClientBuffer;
    // Near the limit, the write's callback says when the stream has taken it: every write that
    // can leave the stream above the limit carries one. Not 'drain', which follows only a write
    // past the stream's highWaterMark (64 KiB since Node 22), whatever maxClientBuffer is.
    const near = stream.writableLength + this.outbox.bytes > limit;
    this.outbox.flush(stream, near ? (this.onWrittenBound ??= () => this.onWritten()) : undefined);
    if (stream.writableLength > limit) this.congested = true;
  }

  /** A write made near the limit has gone out: below the limit again, the session sends on. */
  private onWritten(): void {
    if (!this.congested || this.stream.writableLength > this.broker.config.maxClientBuffer) return;
    this.congested = false;
    this.session?.drain();
  }

  /**
   * Writes one PUBLISH to this client. Returns false, sending nothing, when the packet is
   * larger than the client accepts [MQTT-3.1.2-25].
   */
  sendPublish(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean {
    const v = this.protocolVersion;
    if (v === 5 && (subscriptionIds !== undefined || this.outAliasMax > 0 || msg.expiresAt !== 0)) {
      return this.sendPublishV5(msg, qos, retain, subscriptionIds, packetId, dup, now);
    }
    if (dup) {
      const buf = msg.encodeFor(v, qos, retain, undefined, packetId, msg.topic, true);
      if (buf.length > this.maxOutgoingPacket) return false;
      this.outbox.push(buf);
    } else {
      const template = msg.template(v, qos, retain);
      if (template.length > this.maxOutgoingPacket) return false;
      if (qos === 0) this.outbox.push(template);
      else this.outbox.pushWithId(template, packetIdOffset(template), packetId);
    }
    if (!this.dirty) this.broker.markDirty(this);
    return true;
  }

  /** A 5.0 PUBLISH with per-subscriber fields: subscription ids, remaining expiry, topic alias. */
  private sendPublishV5(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean {
    let props: Properties | undefined = msg.properties;
    if (subscriptionIds !== undefined || msg.expiresAt !== 0) {
      props = { ...msg.properties };
      if (subscriptionIds !== undefined) props.subscriptionIdentifiers = subscriptionIds;
      // [MQTT-3.3.2-6] the expiry interval sent on is what is left of it.
      if (msg.expiresAt !== 0) props.messageExpiryInterval = msg.remainingExpiry(now);
    }
    let topic = msg.topic;
    if (this.outAliasMax > 0) {
      const aliases = (this.outAliases ??= new Map());
      const alias = aliases.get(topic);
      if (alias !== undefined) {
        topic = '';
        props = { ...props, topicAlias: alias };
      } else if (aliases.size < this.outAliasMax) {
        // The broker assigns aliases itself, first come first served, up to the client's maximum.
        const next = aliases.size + 1;
        aliases.set(topic, next);
        props = { ...props, topicAlias: next };
      }
    }
    const buf = msg.encodeFor(5, qos, retain, props, packetId, topic, dup);
    if (buf.length > this.maxOutgoingPacket) {
      if (topic === '' || props?.topicAlias !== undefined) this.outAliases?.delete(msg.topic);
      return false;
    }
    this.outbox.push(buf);
    if (!this.dirty) this.broker.markDirty(this);
    return true;
  }

  // ---- keep-alive ----------------------------------------------------------------------

  /** Starts the keep-alive watch for `seconds` (0: none). */
  startKeepalive(seconds: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.keepaliveMs = seconds * 1500;
    if (seconds > 0) this.timer = setTimeout(() => this.checkKeepalive(), this.keepaliveMs);
  }

  private checkKeepalive(): void {
    if (this.state === State.Closed) return;
    // One timer per connection, re-armed only once per period: cheaper than one per packet.
    // While we hold its input unread (throttled, or a hook pending) the client's packets may be
    // waiting in the socket: silence is ours, not the client's [MQTT-3.1.2-24].
    if (this.readPaused) this.lastActivity = Date.now();
    const idle = Date.now() - this.lastActivity;
    if (idle >= this.keepaliveMs) {
      // [MQTT-3.1.2-24] nothing for 1.5 x Keep Alive: close as if the network failed.
      this.disconnectWith(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
      return;
    }
    this.timer = setTimeout(() => this.checkKeepalive(), this.keepaliveMs - idle);
  }

  // ---- ending --------------------------------------------------------------------------

  /** Turns any error from parsing or handling into the answer the protocol gives. */
  fail(err: unknown): void {
    if (this.state === State.Closed) return;
    const mqttError = err instanceof MqttError ? err : undefined;
    const code = mqttError?.reasonCode ?? ReasonCode.ImplementationSpecificError;
    const error = err instanceof Error ? err : new Error(String(err));
    this.broker.emit('clientError', this.state === State.New ? undefined : this, error);
    if (mqttError === undefined) this.broker.log('error', `client ${this.clientId || this.id}: ${error.stack ?? error.message}`);
    if (this.state === State.New || this.state === State.Connecting) {
      this.refuse(code, error.message);
      return;
    }
    // A code DISCONNECT cannot carry (0x84 from a second CONNECT with an unknown level) goes out
    // as Protocol Error: a second CONNECT is one whatever its content [MQTT-3.1.0-2].
    this.disconnectWith(ALLOWED_REASON_CODES['disconnect']![code] === 1 ? code : ReasonCode.ProtocolError, error.message);
  }

  /**
   * Refuses a connection with CONNACK and closes it. For an unknown protocol version the
   * 3.1.1 form with code 1 is what any client can read [MQTT-3.1.2-2].
   */
  refuse(code: number, why: string): void {
    if (this.state === State.Closed) return;
    const v = this.state === State.Connecting ? this.protocolVersion : undefined;
    if (code === ReasonCode.UnsupportedProtocolVersion && v === undefined) {
      this.sendBytes(Buffer.from([PacketType.CONNACK << 4, 2, 0, 1]));
    } else if (v === 5) {
      this.sendExplained({ type: 'connack', sessionPresent: false, reasonCode: code }, why);
    } else if (v !== undefined) {
      this.send({ type: 'connack', sessionPresent: false, reasonCode: connackCodeV3(code) });
    }
    this.will = undefined; // [MQTT-3.2.2-?] a refused connection has no session and no will
    this.close(`refused: ${reasonCodeName(code, 'connack')} (${why})`, false);
  }

  /** Closes after a server-side DISCONNECT (5.0) with `code`; the will is published. */
  disconnectWith(code: number, why: string, properties?: Properties): void {
    if (this.state === State.Closed) return;
    if (this.protocolVersion === 5 && code >= 0x80) {
      if (properties !== undefined) this.send({ type: 'disconnect', reasonCode: code, properties });
      else this.sendExplained({ type: 'disconnect', reasonCode: code }, why);
    }
    this.close(why, true);
  }

  /**
   * Sends a 5.0 CONNACK refusal or DISCONNECT with `why` as its Reason String, unless the
   * client asked for no problem information or the string would make the packet larger than
   * the client accepts [MQTT-3.2.2-19] [MQTT-3.14.2-3]. Error paths only: encoding twice is fine.
   */
  private sendExplained(packet: ConnackPacket | DisconnectPacket, why: string): void {
    if (this.problemInfo) {
      const bytes = encode({ ...packet, properties: { reasonString: why.slice(0, 200) } }, 5);
      if (bytes.length <= this.maxOutgoingPacket) {
        this.sendBytes(bytes);
        return;
      }
    }
    this.send(packet);
  }

  /**
   * Ends the connection once. `unclean` publishes the will ([MQTT-3.1.2-8]): any end but a
   * normal DISCONNECT. What stays of the session is the broker's business.
   */
  close(reason: string, unclean: boolean): void {
    if (this.state === State.Closed) return;
    const wasConnected = this.state === State.Connected;
    this.state = State.Closed;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.backlog = null;
    this.hookPending = false;
    // Send what is queued (a CONNACK refusal, a DISCONNECT) before closing.
    if (!this.outbox.empty && !this.stream.destroyed) this.outbox.flush(this.stream);
    this.outbox.clear();
    this.stream.off('data', this.onDataBound);
    const stream = this.stream;
    if (!stream.destroyed) {
      stream.end();
      // Give a well-behaved peer a moment to read the last packet, then cut it off. The timer
      // holds only the stream, and is gone once the stream closes: under churn, a second of
      // closed connections (each with its session) must not stay in memory.
      const timer = setTimeout(destroyStream, 1000, stream);
      timer.unref();
      stream.once('close', () => clearTimeout(timer));
    }
    this.broker.connectionClosed(this, reason, unclean && wasConnected, wasConnected);
  }
}
