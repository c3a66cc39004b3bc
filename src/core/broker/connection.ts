/**
 * One client connection: its input (parser, dispatch, input held in order while a hook is
 * pending or the client is held back), its output (one write per tick, congestion), and its
 * end. Handlers receive decoded packets and throw MqttError; this file alone turns an error
 * into a CONNACK, a DISCONNECT (5.0) or a plain close. The wire form of a PUBLISH is wire.ts,
 * keep-alive keepalive.ts, holding back backpressure.ts.
 */
import type { Duplex } from 'node:stream';
import { ALLOWED_REASON_CODES, PacketType, ReasonCode, reasonCodeName } from '../codec/constants.js';
import { encode } from '../codec/encode.js';
import { MqttError } from '../codec/errors.js';
import { Parser } from '../codec/parser.js';
import type { ConnackPacket, DisconnectPacket, Packet, Properties, ProtocolVersion, QoS, Will } from '../codec/types.js';
import { dispatch, noteHeldDisconnect } from './handlers/index.js';
import { KeepAlive, type KeepAliveTarget } from './keepalive.js';
import type { Message } from './message.js';
import { Outbox } from './outbox.js';
import { reasonString } from './reason-string.js';
import type { Scheduler } from './scheduler.js';
import type { BrokerStats } from './stats.js';
import type { HeldPublisher, Session } from './session.js';
import { State, type BrokerConfig, type BrokerContext, type DeliveryTarget, type HandlerConnection, type PublishTrace, type TransportInfo } from './types.js';
import { writePublish, type WireState } from './wire.js';

/** What a connection needs of the broker besides what its handlers ask (BrokerContext). */
export interface ConnectionHost {
  readonly config: BrokerConfig;
  /** Told of each PUBLISH written, when a verbose log asks (undefined: one field test). */
  readonly publishTrace: PublishTrace | undefined;
  readonly scheduler: Scheduler;
  readonly stats: BrokerStats;
  /** The connection has output for this tick: written in one pass at its end. */
  markDirty(conn: Connection): void;
  /** True when the connection's output must wait for a store commit (the host takes or defers it). */
  holdOutput(conn: Connection): boolean;
  connectionClosed(conn: Connection, reason: string, unclean: boolean, wasConnected: boolean): void;
  connectionError(conn: Connection, error: Error, known: boolean): void;
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

/**
 * The stream's listeners are shared by every connection and find theirs through the stream:
 * four closures fewer per connection, which counts at 10,000 idle clients.
 */
const OWNER = Symbol('mqt.connection');
type OwnedStream = Duplex & { [OWNER]: Connection };

function onStreamData(this: Duplex, chunk: Buffer): void {
  (this as OwnedStream)[OWNER].onData(chunk);
}

function onStreamError(this: Duplex, err: Error): void {
  (this as OwnedStream)[OWNER].close(`socket error: ${err.message}`, true);
}

function onStreamClose(this: Duplex): void {
  (this as OwnedStream)[OWNER].close('socket closed', true);
}

/** Bounded: past this many held packets the socket is not read at all. */
const MAX_HELD = 1000;

/**
 * Packets answered in one tick past which a client is not read again until that output is
 * written: the outbox holds a slot per packet, and one turn of the event loop may read 2 MiB
 * from a socket (a million PINGREQs).
 */
const MAX_TICK_PACKETS = 8192;

export class Connection implements HandlerConnection, DeliveryTarget, WireState, KeepAliveTarget, HeldPublisher {
  state = State.New;
  protocolVersion: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined = undefined;
  /** CONNECT carried the bridge bit (ClientInfo.bridge). */
  bridge = false;
  /** Unique per connection, for logs: client ids repeat across reconnects. */
  readonly id = ++connectionCounter;
  session: Session | null = null;
  will: Will | undefined = undefined;

  readonly parser: Parser;
  readonly outbox: Outbox;
  /** The broker's counters ($SYS, /metrics). */
  readonly stats: BrokerStats;
  /** In the broker's list of connections to flush at the end of this tick. */
  dirty = false;
  /**
   * This tick's output holds an acknowledgement (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP,
   * SUBACK, UNSUBACK): a promise that what it answers is stored. If the store's commit fails,
   * such output never goes out; deliveries and PINGRESP alone may.
   */
  promised = false;
  /**
   * Output is backing up (slow reader): QoS 0 waits, QoS 1/2 stays queued. Set when the
   * stream holds more than maxClientBuffer; cleared by the callback of a write made near that
   * limit (flush), once the stream is back under it.
   */
  congested = false;

  /** When the connection was accepted: closed connectTimeoutMs later without a CONNECT. */
  readonly openedAt = Date.now();
  lastActivity = this.openedAt;
  /** When CONNACK accepted it (ms since the epoch); 0 before. */
  connectedAt = 0;
  /** The keep-alive in force, seconds (0: none). */
  keepAliveSeconds = 0;
  private keepalive: KeepAlive | undefined = undefined;

  // Limits the client announced in CONNECT (5.0), or their defaults.
  sendQuota = 0;
  maxOutgoingPacket = 268_435_460;
  outAliasMax = 0;
  outAliases: Map<string, number> | undefined = undefined;
  /** Topic aliases the client set towards us, by alias. */
  inAliases: Map<number, string> | undefined = undefined;
  problemInfo = true;

  /**
   * Packets held back, in order: while an asynchronous hook is pending, or while this client
   * is held back because a session it publishes to has a long queue.
   */
  private held: Packet[] | null = null;
  private hookPending = false;
  /** The parser's error for a read whose earlier packets are still being handled (onData). */
  private inputError: unknown = undefined;
  readonly waitingOn: Session[] = [];
  private readPaused = false;
  /**
   * Answering nothing until this tick's output is written, or until a congested stream drains:
   * a client that sends without reading (a flood of PINGREQ, QoS 1 publishes, SUBSCRIBEs, each
   * one answered) would otherwise make us buffer its answers without end. Its packets are held
   * as a held-back publisher's are (read, so its keep-alive still sees it alive or silent), and
   * past MAX_HELD it is not read at all: the rest waits in TCP, as a well-behaved peer's would.
   */
  private outputPaused = false;
  /** Made for the first write near maxClientBuffer (see flush). */
  private onWrittenBound: (() => void) | undefined = undefined;

  constructor(
    private readonly host: ConnectionHost,
    /** The broker as handlers see it: named operations only. */
    readonly broker: BrokerContext,
    readonly stream: Duplex,
    readonly transport: TransportInfo,
  ) {
    this.parser = new Parser({ maxPacketSize: host.config.maxPacketSize });
    this.stats = host.stats;
    this.outbox = new Outbox(host.stats);
    (stream as OwnedStream)[OWNER] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    stream.on('end', onStreamClose);
  }

  get remoteAddress(): string | undefined {
    return this.transport.remoteAddress;
  }

  get ready(): boolean {
    return this.state === State.Connected;
  }

  get inputHeld(): boolean {
    return this.readPaused;
  }

  // ---- input ---------------------------------------------------------------------------

  /** @internal Bytes from the stream (onStreamData). */
  onData(chunk: Buffer): void {
    if (this.state === State.Closed) return;
    this.lastActivity = Date.now();
    let packets: Packet[];
    const stats = this.stats;
    stats.bytesReceived += chunk.length;
    try {
      packets = this.parser.push(chunk);
    } catch (err) {
      // The packets this read completed before the bad one still count, in order (Parser.push
      // keeps them on the error); the error comes once they are handled, and nothing more is read.
      packets = err instanceof MqttError ? (err.packetsBefore ?? []) : [];
      if (packets.length === 0) {
        this.fail(err);
        return;
      }
      this.stream.off('data', onStreamData);
      this.inputError = err;
    }
    stats.packetsReceived += packets.length;
    if (this.held !== null) this.hold(packets);
    else this.process(packets, 0);
    // A client whose every packet is answered must not grow this tick's output without end
    // before the write at its end can measure the stream: past a buffer's worth, read no more.
    const o = this.outbox;
    // (The handlers may have closed it: state is read again.)
    if ((this.state as State) !== State.Closed && (o.size > MAX_TICK_PACKETS || o.bytes + this.stream.writableLength > this.host.config.maxClientBuffer)) this.pauseForOutput();
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
        this.held = packets.slice(i + 1);
        this.pauseReading();
        pending.then(
          () => {
            this.hookPending = false;
            this.resumeHeld();
          },
          (err: unknown) => this.fail(err),
        );
        return;
      }
      if (this.waitingOn.length > 0) {
        this.held = packets.slice(i + 1);
        return;
      }
    }
    // Everything read before a malformed packet is handled: now its error (onData).
    if (this.inputError !== undefined) this.fail(this.inputError);
  }

  /**
   * Packets arriving while held. Acknowledgements and pings still go through when only held
   * back: they route nothing, and they are what drains the queues we wait on. A DISCONNECT
   * counts at once, whatever waits before it: its will is discarded now [MQTT-3.14.4-3], so a
   * client that leaves politely is never reported dead because the socket closed first.
   */
  private hold(packets: Packet[]): void {
    const held = this.held!;
    for (const p of packets) {
      const t = p.type;
      try {
        // A PINGREQ is answered, so not while the output is what we wait on.
        if (!this.hookPending && (t === 'puback' || t === 'pubcomp' || t === 'pubrec' || (t === 'pingreq' && !this.outputPaused))) {
          dispatch(this, p);
          continue;
        }
        if (p.type === 'disconnect' && this.state === State.Connected) noteHeldDisconnect(this, p);
      } catch (err) {
        this.fail(err);
        return;
      }
      held.push(p);
    }
    if (held.length > MAX_HELD) this.pauseReading();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.stream.pause();
  }

  private resumeHeld(): void {
    if (this.state === State.Closed || this.hookPending || this.waitingOn.length > 0 || this.outputPaused) return;
    const held = this.held ?? [];
    this.held = null;
    if (this.readPaused) {
      this.readPaused = false;
      this.stream.resume();
    }
    this.process(held, 0);
  }

  /** Held back by a long queue (backpressure.ts): route nothing more until resumeInput. */
  holdInput(): void {
    if (this.held === null) this.held = [];
  }

  /** Nothing holds this connection back any more: route again, on the next turn (the caller is in another client's ack handling). */
  resumeInput(): void {
    setImmediate(() => this.resumeHeld());
  }

  // ---- output --------------------------------------------------------------------------

  /** Queues a packet for this tick's write. */
  send(packet: Packet): void {
    if (this.state === State.Closed) return;
    const bytes = encode(packet, this.protocolVersion);
    // Nothing larger than the client's Maximum Packet Size goes out [MQTT-3.1.2-24]. A PUBLISH
    // takes its own path (wire.ts: dropped as if sent [MQTT-3.1.2-25]); an ack, SUBACK or
    // UNSUBACK that cannot fit leaves the protocol no way on: DISCONNECT 0x95 and close.
    if (bytes.length > this.maxOutgoingPacket) {
      this.tooLarge(packet, bytes.length);
      return;
    }
    this.outbox.push(bytes);
    if (packet.type !== 'disconnect') this.promised = true;
    this.host.markDirty(this);
  }

  private tooLarge(packet: Packet, size: number): void {
    const why = `a ${packet.type.toUpperCase()} of ${size} bytes exceeds the client's Maximum Packet Size of ${this.maxOutgoingPacket}`;
    if (packet.type === 'disconnect') this.close(why, true);
    else this.disconnectWith(ReasonCode.PacketTooLarge, why);
  }

  sendBytes(buf: Buffer, promise = true): void {
    if (this.state === State.Closed) return;
    this.outbox.push(buf);
    if (promise) this.promised = true;
    this.host.markDirty(this);
  }

  sendWithId(template: Buffer, offset: number, id: number): void {
    if (this.state === State.Closed) return;
    this.outbox.pushWithId(template, offset, id);
    this.promised = true;
    this.host.markDirty(this);
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId });
  }

  /** Writes one PUBLISH (wire.ts); false, sending nothing, when larger than the client accepts. */
  sendPublish(msg: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean, now: number): boolean {
    if (!writePublish(this, msg, qos, retain, subscriptionIds, packetId, dup, now)) return false;
    const trace = this.host.publishTrace;
    if (trace !== undefined) trace.sent(this, msg.topic, qos, retain, dup, packetId, msg.payload.length);
    const stats = this.stats;
    stats.publishSentByQos[qos]++;
    stats.publishBytesSent += msg.payload.length;
    if (!this.dirty) this.host.markDirty(this);
    return true;
  }

  /** Called by the broker once per tick: one write for everything queued. */
  flush(): void {
    this.dirty = false;
    const stream = this.stream;
    if (this.state === State.Closed && stream.destroyed) return;
    // With a store, output waits until what the tick changed is durable (persistence.ts).
    if (this.host.holdOutput(this)) return;
    this.promised = false;
    const out = this.outbox.take();
    if (out !== undefined) this.write(out);
  }

  /** Output a store commit held back, now that the commit is durable. */
  writeHeld(buf: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    this.write(buf);
  }

  /** The store could not keep what this output acknowledged: it never goes out; the client sends again after reconnecting. */
  failHeld(reason: string): void {
    if (this.state === State.Closed) return;
    this.outbox.clear();
    this.close(reason, true);
    this.stream.destroy();
  }

  private write(out: Buffer): void {
    const stream = this.stream;
    const limit = this.host.config.maxClientBuffer;
    // Near the limit, the write's callback says when the stream has taken it: every write that
    // can leave the stream above the limit carries one. Not 'drain', which follows only a write
    // past the stream's highWaterMark (64 KiB since Node 22), whatever maxClientBuffer is.
    const near = stream.writableLength + out.length > limit;
    stream.write(out, near ? (this.onWrittenBound ??= () => this.onWritten()) : undefined);
    if (stream.writableLength > limit) {
      this.congested = true;
      this.pauseForOutput();
    } else {
      this.resumeForOutput();
    }
  }

  /** Holds the input until the output is written (see outputPaused). */
  private pauseForOutput(): void {
    if (this.outputPaused) return;
    this.outputPaused = true;
    this.held ??= [];
  }

  private resumeForOutput(): void {
    if (!this.outputPaused) return;
    this.outputPaused = false;
    // On the next turn: this is the write at the end of a tick, or its callback.
    this.resumeInput();
  }

  /** A write made near the limit has gone out: below the limit again, the session sends on. */
  private onWritten(): void {
    if (!this.congested || this.stream.writableLength > this.host.config.maxClientBuffer) return;
    this.congested = false;
    this.resumeForOutput();
    this.session?.drain();
  }

  // ---- keep-alive ----------------------------------------------------------------------

  /** Starts the keep-alive watch for `seconds` (0: none). */
  startKeepalive(seconds: number): void {
    this.keepAliveSeconds = seconds;
    if (seconds === 0 && this.keepalive === undefined) return;
    (this.keepalive ??= new KeepAlive(this, this.host.scheduler)).start(seconds);
  }

  keepaliveExpired(): void {
    if (this.state === State.Closed) return;
    // [MQTT-3.1.2-24] nothing for 1.5 x Keep Alive: close as if the network failed.
    this.disconnectWith(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
  }

  // ---- ending --------------------------------------------------------------------------

  /** Turns any error from parsing or handling into the answer the protocol gives. */
  fail(err: unknown): void {
    if (this.state === State.Closed) return;
    const mqttError = err instanceof MqttError ? err : undefined;
    const code = mqttError?.reasonCode ?? ReasonCode.ImplementationSpecificError;
    const error = err instanceof Error ? err : new Error(String(err));
    this.host.connectionError(this, error, mqttError !== undefined);
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
    // Only a refusal of the CONNACK table goes out [MQTT-3.2.2-8]: a hook's number or an error's
    // code that is not one (0x8E, 0x94, anything below 0x80) is 0x80 Unspecified error.
    if (code < 0x80 || ALLOWED_REASON_CODES['connack']![code] !== 1) code = ReasonCode.UnspecifiedError;
    this.stats.refused(code);
    const v = this.state === State.Connecting ? this.protocolVersion : undefined;
    if (code === ReasonCode.UnsupportedProtocolVersion && v === undefined) {
      this.sendBytes(Buffer.from([PacketType.CONNACK << 4, 2, 0, 1]));
    } else if (v === 5) {
      this.sendExplained({ type: 'connack', sessionPresent: false, reasonCode: code }, why);
    } else if (v !== undefined) {
      this.send({ type: 'connack', sessionPresent: false, reasonCode: connackCodeV3(code) });
    }
    this.will = undefined; // a refused connection has no session and no will
    this.close(`refused: ${reasonCodeName(code, 'connack')} (${why})`, false);
  }

  /** Closes after a server-side DISCONNECT (5.0) with `code`; the will is published. */
  disconnectWith(code: number, why: string, properties?: Properties): void {
    if (this.state === State.Closed) return;
    // No DISCONNECT before CONNACK [MQTT-3.14.0-1]: a connection still waiting for its CONNACK
    // (an authenticate hook pending when the broker shuts down) is closed without one.
    if (this.protocolVersion === 5 && code >= 0x80 && this.state === State.Connected) {
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
      const bytes = encode({ ...packet, properties: { reasonString: reasonString(why) } }, 5);
      if (bytes.length <= this.maxOutgoingPacket) {
        this.sendBytes(bytes);
        return;
      }
    }
    // Not even the bare packet fits (a client Maximum Packet Size of 2, say): nothing is sent
    // [MQTT-3.1.2-24], and the caller closes the connection all the same [MQTT-4.13.2-1].
    const bare = encode(packet, 5);
    if (bare.length <= this.maxOutgoingPacket) this.sendBytes(bare, packet.type !== 'disconnect');
  }

  /**
   * Ends the connection once. `unclean` publishes the will ([MQTT-3.1.2-8]): any end but a
   * normal DISCONNECT. What stays of the session is the broker's business.
   */
  close(reason: string, unclean: boolean): void {
    if (this.state === State.Closed) return;
    const wasConnected = this.state === State.Connected;
    this.state = State.Closed;
    this.keepalive?.stop();
    this.held = null;
    this.hookPending = false;
    // Send what is queued (a CONNACK refusal, a DISCONNECT) before closing.
    if (!this.outbox.empty && !this.stream.destroyed) this.outbox.flush(this.stream);
    this.outbox.clear();
    this.stream.off('data', onStreamData);
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
    this.host.connectionClosed(this, reason, unclean && wasConnected, wasConnected);
  }
}
