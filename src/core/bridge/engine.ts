/**
 * One bridge at run time: the remote connection (dial, CONNECT, SUBSCRIBE, keep-alive), the
 * local one (an in-process pair into broker.accept(), an MQTT 5 client of our broker), and the
 * reconnect loop over the addresses. The messages themselves go through flight.ts.
 *
 * The two links are up together: the local one opens after the remote's CONNACK and both close
 * when either fails. While the remote is down, our broker's persistent session for the bridge
 * (localClientId, never expiring unless localCleanSession) queues the QoS 1/2 messages for it,
 * bounded by the broker's max queued messages, on disk when the broker has a store; the bridge
 * itself holds only what was already in flight. The local subscriptions use No Local, so what
 * the bridge publishes locally (from the remote) is never sent back out: no loops with `both`.
 */
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Broker, ListenerInfo, LogLevel, TransportInfo } from '../broker/index.js';
import { encode, reasonCodeName } from '../codec/index.js';
import type { ConnackPacket, ConnectPacket, Packet, Subscription } from '../codec/types.js';
import { Backoff } from './backoff.js';
import { Flight, type FlightLinks } from './flight.js';
import { LocalPipe, type PipeHandler } from './local-pipe.js';
import { primeSession } from './prime.js';
import { openRemote, remoteTlsOptions } from './remote-socket.js';
import { routes, type TopicRoute } from './topics.js';
import type { BridgeOptions, BridgeStatus } from './types.js';
import { Wire } from './wire.js';

/** How long a remote may take to accept the connection and answer CONNECT. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Without round robin, a bridge connected to a backup address checks this often whether the
 * main one answers again, and moves back to it when it does (mosquitto: primary_retry, 5 s).
 */
export const MAIN_RETRY_MS = 5000;
/** What we let our broker have in flight to the bridge (its Receive Maximum for us), and the remote too (5.0). */
const RECEIVE_MAXIMUM = 100;
/** QoS 1/2 messages in flight to a 3.1 or 3.1.1 remote at once (mosquitto's max_inflight_messages default). */
const LEGACY_WINDOW = 20;
/** At most one log line a minute about dropped messages. */
const DROP_LOG_MS = 60_000;

/** Above this many bytes waiting on the remote socket, our broker's writes to the bridge are held. */
const REMOTE_HIGH_WATER = 256 * 1024;

/** 3.1 and 3.1.1 CONNACK return codes, in words. */
const CONNACK_3: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

type Log = (level: LogLevel, message: string) => void;

const enum Phase {
  Idle,
  /** Socket dialled, CONNECT sent, waiting for the remote's CONNACK. */
  Remote,
  /** Remote answered; local link opened, waiting for our broker's CONNACK. */
  Local,
  Up,
  Closed,
}

/** The remote socket's events, for the engine; checks that the socket is still the current one. */
class RemoteSide {
  readonly wire: Wire;

  constructor(
    readonly engine: BridgeEngine,
    readonly socket: Socket,
    version: 3 | 4 | 5,
  ) {
    this.wire = new Wire(version, socket);
    socket.on('data', (chunk: Buffer) => engine.remoteData(this, chunk));
    socket.on('drain', () => engine.remoteDrained(this));
    socket.on('error', (err) => engine.remoteClosed(this, err.message));
    socket.on('close', () => engine.remoteClosed(this, 'connection closed by the remote'));
  }
}

class LocalSide implements PipeHandler {
  readonly pipe: LocalPipe;
  readonly wire: Wire;

  constructor(readonly engine: BridgeEngine) {
    this.pipe = new LocalPipe(this);
    this.wire = new Wire(5, { write: (buf) => this.written(buf) });
  }

  private written(buf: Buffer): void {
    if (!this.pipe.send(buf)) this.engine.localFull(this);
  }

  onData(chunk: Buffer): void {
    this.engine.localData(this, chunk);
  }

  onDrain(): void {
    this.engine.localDrained(this);
  }

  onClose(): void {
    this.engine.localClosed(this);
  }
}

export class BridgeEngine implements FlightLinks {
  readonly name: string;
  private readonly routes: TopicRoute[];
  private readonly flight: Flight;
  private readonly backoff: Backoff;
  private readonly listener: ListenerInfo;
  private phase = Phase.Idle;
  private remote: RemoteSide | undefined;
  private local: LocalSide | undefined;
  /** Remote packets that came before our broker's CONNACK: handled once both links are up. */
  private held: Packet[] = [];
  private addressIndex = 0;
  /** Addresses tried since the last connection that worked or the last wait. */
  private tried = 0;
  /** host:port of the last connection that came up (status), and of the one being made (logs). */
  private connectedAddress: string | undefined;
  private trying = '';
  /** Whether CONNECT carries the bridge bit; cleared for good when a remote refuses it. */
  private bridgeBit: boolean;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connackTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private mainRetryTimer: NodeJS.Timeout | undefined;
  private localPingTimer: NodeJS.Timeout | undefined;
  private pingOutstanding = false;
  private readonly tlsOptions = new Map<number, ConnectionOptions>();
  /** Remote socket paused because our broker's input is full. */
  private remotePaused = false;
  private lastDropLog = 0;
  private droppedSinceLog = 0;
  private closedPromise: Promise<void> | undefined;
  /** The next attempt goes to the same address at once (the bridge bit was just dropped). */
  private retrySame = false;

  constructor(
    private readonly broker: Broker,
    private readonly options: BridgeOptions,
    private readonly log: Log,
  ) {
    if (options.addresses.length === 0) throw new Error(`bridge ${options.name}: no address to connect to`);
    this.name = options.name;
    this.routes = routes(options.topics);
    this.flight = new Flight(this.routes, this, options.outgoingRetain, options.maxPacketSize);
    this.backoff = new Backoff(options.restartTimeout.base * 1000, options.restartTimeout.cap === undefined ? undefined : options.restartTimeout.cap * 1000);
    this.bridgeBit = options.tryPrivate && options.protocolVersion !== 5;
    this.listener = { kind: 'bridge', host: undefined, port: undefined, name: `bridge:${options.name}`, useIdentityAsUsername: false };
    void this.start();
  }

  status(): BridgeStatus {
    const s = this.broker.inspect.session(this.options.localClientId);
    const brokerHolds = s === undefined ? 0 : s.queued + s.inflight;
    return {
      name: this.name,
      connected: this.phase === Phase.Up,
      address: this.connectedAddress,
      queued: brokerHolds + this.flight.outOrphans,
      sent: this.flight.sent,
      received: this.flight.received,
    };
  }

  close(): Promise<void> {
    return (this.closedPromise ??= this.shutdown());
  }

  // ---- start and reconnect -----------------------------------------------------------------

  private async start(): Promise<void> {
    try {
      await this.broker.ready();
    } catch {
      return; // the broker reports its own store failure
    }
    if (this.phase === Phase.Closed) return;
    if (!this.options.localCleanSession) {
      await primeSession(this.broker, this.transport(), this.localConnect(), this.localSubscriptions(), (why) => this.log('error', `Bridge ${this.name}: ${why}`));
    }
    if ((this.phase as Phase) === Phase.Closed) return;
    this.attempt();
  }

  private attempt(): void {
    if (this.phase === Phase.Closed) return;
    const index = this.addressIndex;
    const { host, port } = this.options.addresses[index]!;
    const where = `${host}:${port}`;
    this.trying = where;
    this.log('info', `Connecting bridge ${this.name} (${where})`);
    this.phase = Phase.Remote;
    void this.dial(index).then(
      (socket) => {
        if (this.phase === Phase.Closed) {
          socket.destroy();
          return;
        }
        const remote = new RemoteSide(this, socket, this.options.protocolVersion);
        this.remote = remote;
        remote.wire.queue(this.remoteConnect());
        remote.wire.flush();
        this.connackTimer = setTimeout(() => this.remoteClosed(remote, `no CONNACK within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
      },
      (err: Error) => {
        if (this.phase === Phase.Closed) return;
        this.failed(where, err.message, false);
      },
    );
  }

  private async dial(index: number): Promise<Socket> {
    const { host, port } = this.options.addresses[index]!;
    let tls: ConnectionOptions | undefined;
    if (this.options.tls !== undefined) {
      tls = this.tlsOptions.get(index);
      if (tls === undefined) {
        tls = await remoteTlsOptions(this.options.tls, host);
        this.tlsOptions.set(index, tls);
      }
    }
    return openRemote(host, port, tls, CONNECT_TIMEOUT_MS);
  }

  /**
   * A connection attempt failed (`established` false) or a connection ended. Within a round the
   * next address is tried at once; after a whole round, or after losing a connection, the
   * restart timeout is waited. Without round robin every round starts at the main address, so
   * the bridge goes back to it as soon as it answers again.
   */
  private failed(where: string, why: string, established: boolean): void {
    const n = this.options.addresses.length;
    if (this.retrySame) {
      this.retrySame = false;
      this.log('info', `Bridge ${this.name}: ${why}`);
      setImmediate(() => this.attempt());
      return;
    }
    if (established) {
      this.log('info', `Bridge ${this.name} disconnected from ${where}: ${why}`);
      this.tried = 0;
      if (!this.options.roundRobin) this.addressIndex = 0;
    } else {
      this.log('info', `Bridge ${this.name}: connecting to ${where} failed: ${why}`);
      this.tried++;
      if (this.tried < n) {
        this.addressIndex = (this.addressIndex + 1) % n;
        setImmediate(() => this.attempt());
        return;
      }
      this.tried = 0;
      this.addressIndex = this.options.roundRobin ? (this.addressIndex + 1) % n : 0;
    }
    this.phase = Phase.Idle;
    if (this.options.startType === 'once') return this.stopForGood();
    const delay = this.backoff.next();
    this.log('debug', `Bridge ${this.name}: reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.attempt();
    }, delay);
  }

  private stopForGood(): void {
    this.phase = Phase.Idle;
    this.log('info', `Bridge ${this.name}: start type once, not reconnecting`);
  }

  // ---- remote link -------------------------------------------------------------------------

  private remoteConnect(): Buffer {
    const o = this.options;
    const packet: ConnectPacket = { type: 'connect', protocolVersion: o.protocolVersion, clean: o.cleanSession, keepalive: o.keepalive, clientId: o.remoteClientId };
    if (o.remoteUsername !== undefined) packet.username = o.remoteUsername;
    if (o.remotePassword !== undefined) packet.password = Buffer.from(o.remotePassword);
    if (o.notifications && !o.notificationsLocalOnly) packet.will = { topic: o.notificationTopic, payload: Buffer.from('0'), qos: 1, retain: true };
    if (o.protocolVersion === 5) {
      // The remote keeps our session as long as mosquitto's bridges ask: forever unless clean.
      packet.properties = { sessionExpiryInterval: o.cleanSession ? 0 : 0xffffffff, receiveMaximum: RECEIVE_MAXIMUM };
      if (o.maxPacketSize > 0) packet.properties.maximumPacketSize = o.maxPacketSize;
    }
    const buf = encode(packet, o.protocolVersion);
    if (this.bridgeBit) {
      // The protocol level byte follows the fixed header and the protocol name: ORing 0x80 into it
      // tells a mosquitto remote this is a bridge (it then does not send our own messages back).
      let i = 1;
      while ((buf[i]! & 0x80) !== 0) i++;
      i++;
      const nameLength = buf.readUInt16BE(i);
      buf[i + 2 + nameLength]! |= 0x80;
    }
    return buf;
  }

  remoteData(remote: RemoteSide, chunk: Buffer): void {
    if (remote !== this.remote) return;
    let packets: Packet[];
    try {
      packets = remote.wire.parser.push(chunk);
    } catch (err) {
      return this.remoteClosed(remote, `bad packet from the remote: ${(err as Error).message}`);
    }
    this.pingOutstanding = false;
    for (const p of packets) {
      if (remote !== this.remote) return;
      if (this.phase === Phase.Remote) {
        if (p.type !== 'connack') return this.remoteClosed(remote, `the remote sent ${p.type.toUpperCase()} before CONNACK`);
        this.remoteConnack(p);
      } else if (this.phase === Phase.Local) this.held.push(p);
      else if (this.phase === Phase.Up) this.remotePacket(p);
    }
  }

  private remoteConnack(p: ConnackPacket): void {
    clearTimeout(this.connackTimer);
    if (p.reasonCode !== 0) {
      const why = this.options.protocolVersion === 5 ? reasonCodeName(p.reasonCode) : CONNACK_3[p.reasonCode] ?? `return code ${p.reasonCode}`;
      if (this.bridgeBit && p.reasonCode === 1) {
        // 3.1.1 "unacceptable protocol version": a remote that does not know the bridge bit.
        this.log('info', `Bridge ${this.name}: the remote refused the bridge protocol bit; connecting without it`);
        this.bridgeBit = false;
        this.retrySame = true;
      }
      return this.down(`the remote refused the connection: ${why}`);
    }
    if (p.sessionPresent && this.options.cleanSession) {
      // A clean connect leaves us no session there: a remote claiming one is wrong, and the
      // connection is closed (5.0 [MQTT-3.2.2-4]; 3.1.1 forbids the answer, [MQTT-3.2.2-1]).
      return this.down('the remote answered a clean connect with Session Present 1, a session the bridge cannot have there; closing the connection');
    }
    const props = p.properties;
    const mine = this.options.maxPacketSize;
    const theirs = props?.maximumPacketSize ?? 0;
    this.flight.remoteMaxPacket = mine === 0 ? theirs : theirs === 0 ? mine : Math.min(mine, theirs);
    this.flight.remoteMaxQos = props?.maximumQoS === 0 || props?.maximumQoS === 1 ? props.maximumQoS : 2;
    this.flight.remoteRetain = props?.retainAvailable !== 0;
    // A 3.1.1 remote says no window: keep to mosquitto's max_inflight_messages default, as its bridges do
    // (mosquitto 2.0.11 stalls under a QoS 2 sender with a hundred in flight).
    this.flight.remoteConnected(p.sessionPresent, props?.receiveMaximum ?? LEGACY_WINDOW);
    const keepalive = props?.serverKeepAlive ?? this.options.keepalive;
    if (keepalive > 0) this.startPing(keepalive);
    this.phase = Phase.Local;
    this.openLocal();
  }

  private remotePacket(p: Packet): void {
    const f = this.flight;
    switch (p.type) {
      case 'publish':
        return f.remotePublish(p);
      case 'puback':
        return f.remotePuback(p.packetId, p.reasonCode ?? 0);
      case 'pubrec':
        return f.remotePubrec(p.packetId, p.reasonCode ?? 0);
      case 'pubrel':
        return f.remotePubrel(p.packetId);
      case 'pubcomp':
        return f.remotePubcomp(p.packetId);
      case 'suback':
        return this.subacked('the remote', p.reasonCodes);
      case 'pingresp':
        return;
      case 'disconnect':
        return this.remoteClosed(this.remote!, `the remote disconnected the bridge (${reasonCodeName(p.reasonCode ?? 0)})`);
      default:
        return this.remoteClosed(this.remote!, `the remote sent an unexpected ${p.type.toUpperCase()}`);
    }
  }

  private subacked(who: string, codes: number[]): void {
    const refused = codes.filter((c) => c >= 0x80).length;
    if (refused > 0) this.log('warn', `Bridge ${this.name}: ${who} refused ${refused} of ${codes.length} subscriptions`);
  }

  remoteDrained(remote: RemoteSide): void {
    if (remote === this.remote) this.local?.pipe.hold(false);
  }

  remoteClosed(remote: RemoteSide, why: string): void {
    if (remote !== this.remote) return;
    if (this.phase === Phase.Remote && this.bridgeBit && !this.retrySame) {
      // Some brokers close at once on a protocol level they do not know: try once without the bit.
      this.bridgeBit = false;
      this.retrySame = true;
      why = `${why} before CONNACK; trying again without the bridge protocol bit`;
    }
    this.down(why);
  }

  private startPing(seconds: number): void {
    this.pingOutstanding = false;
    this.pingTimer = setInterval(() => {
      const remote = this.remote;
      if (remote === undefined) return;
      if (this.pingOutstanding) return this.remoteClosed(remote, `no answer from the remote within the keepalive (${seconds} s)`);
      this.pingOutstanding = true;
      remote.wire.send({ type: 'pingreq' });
    }, seconds * 1000);
  }

  // ---- local link --------------------------------------------------------------------------

  private transport(): TransportInfo {
    return { listener: this.listener, remoteAddress: undefined, remotePort: undefined, peerCertificate: undefined };
  }

  private localConnect(): ConnectPacket {
    const clean = this.options.localCleanSession;
    return {
      type: 'connect',
      protocolVersion: 5,
      clean,
      keepalive: 0,
      clientId: this.options.localClientId,
      properties: { sessionExpiryInterval: clean ? 0 : 0xffffffff, receiveMaximum: RECEIVE_MAXIMUM },
    };
  }

  private localSubscriptions(): Subscription[] {
    const seen = new Set<string>();
    const subs: Subscription[] = [];
    for (const r of this.routes) {
      if (!r.out || seen.has(r.localFilter)) continue;
      seen.add(r.localFilter);
      // As mosquitto's bridge: no local (no loops), retain as published, retained messages at each subscribe.
      subs.push({ topicFilter: r.localFilter, qos: r.qos, noLocal: true, retainAsPublished: true, retainHandling: 0 });
    }
    return subs;
  }

  private openLocal(): void {
    const local = new LocalSide(this);
    this.local = local;
    try {
      this.broker.accept(local.pipe, this.transport());
    } catch (err) {
      return this.down(`our broker cannot take the bridge: ${(err as Error).message}`);
    }
    local.wire.send(this.localConnect());
  }

  localData(local: LocalSide, chunk: Buffer): void {
    if (local !== this.local) return;
    let packets: Packet[];
    try {
      packets = local.wire.parser.push(chunk);
    } catch (err) {
      return this.down(`bad packet from our broker: ${(err as Error).message}`);
    }
    const f = this.flight;
    for (const p of packets) {
      if (local !== this.local) return;
      switch (p.type) {
        case 'connack':
          this.localConnack(p);
          break;
        case 'publish':
          f.localPublish(p);
          break;
        case 'puback':
          f.localPuback(p.packetId, p.reasonCode ?? 0);
          break;
        case 'pubrec':
          f.localPubrec(p.packetId, p.reasonCode ?? 0);
          break;
        case 'pubrel':
          f.localPubrel(p.packetId);
          break;
        case 'pubcomp':
          f.localPubcomp(p.packetId);
          break;
        case 'suback':
          this.subacked('our broker', p.reasonCodes);
          break;
        case 'disconnect':
          if (p.reasonCode === 0x8b) return this.brokerClosing();
          return this.down(`our broker disconnected the bridge (${reasonCodeName(p.reasonCode ?? 0)})`);
        default:
          break;
      }
    }
  }

  private localConnack(p: ConnackPacket): void {
    if (p.reasonCode !== 0) return this.down(`our broker refused the bridge's session (${reasonCodeName(p.reasonCode)})`);
    const local = this.local!;
    const remote = this.remote!;
    const props = p.properties;
    this.flight.localConnected(p.sessionPresent, props?.receiveMaximum ?? 65_535);
    if (props?.serverKeepAlive !== undefined && props.serverKeepAlive > 0) {
      this.localPingTimer = setInterval(() => this.local?.wire.send({ type: 'pingreq' }), props.serverKeepAlive * 750);
    }
    const o = this.options;
    const localSubs = this.localSubscriptions();
    if (localSubs.length > 0) local.wire.send({ type: 'subscribe', packetId: this.flight.localControlId(), subscriptions: localSubs });
    const remoteSubs: Subscription[] = [];
    for (const r of this.routes) {
      if (!r.in) continue;
      const sub: Subscription = { topicFilter: r.remoteFilter, qos: r.qos };
      if (o.protocolVersion === 5) {
        sub.noLocal = true;
        sub.retainAsPublished = true;
        sub.retainHandling = 0;
      }
      remoteSubs.push(sub);
    }
    if (remoteSubs.length > 0) remote.wire.send({ type: 'subscribe', packetId: this.flight.remoteControlId(), subscriptions: remoteSubs });
    this.phase = Phase.Up;
    this.connectedAddress = this.trying;
    this.backoff.reset();
    this.tried = 0;
    this.log('info', `Bridge ${this.name} connected to ${this.connectedAddress}`);
    if (!o.roundRobin && this.addressIndex !== 0) this.watchMain();
    if (o.notifications) {
      this.notifyLocal('1');
      if (!o.notificationsLocalOnly) remote.wire.send({ type: 'publish', topic: o.notificationTopic, payload: Buffer.from('1'), qos: 1, retain: true, dup: false, packetId: this.flight.remoteControlId() });
    }
    this.flight.resume();
    const held = this.held;
    this.held = [];
    for (const packet of held) {
      if (this.phase !== Phase.Up) return;
      this.remotePacket(packet);
    }
  }

  localFull(local: LocalSide): void {
    if (local !== this.local || this.remotePaused) return;
    this.remotePaused = true;
    this.remote?.socket.pause();
  }

  localDrained(local: LocalSide): void {
    if (local !== this.local || !this.remotePaused) return;
    this.remotePaused = false;
    this.remote?.socket.resume();
  }

  localClosed(local: LocalSide): void {
    if (local !== this.local) return;
    this.down('our broker closed the bridge connection');
  }

  /** Publishes the bridge's state in our broker, retained, as if the bridge had (No Local keeps it from going out). */
  private notifyLocal(state: '0' | '1'): void {
    try {
      const msg = this.broker.createMessage(this.options.notificationTopic, Buffer.from(state), 1, true, undefined, this.options.localClientId);
      this.broker.publish(msg, undefined);
    } catch (err) {
      this.log('warn', `Bridge ${this.name}: cannot publish its state: ${(err as Error).message}`);
    }
  }

  // ---- FlightLinks -------------------------------------------------------------------------

  toRemote(packet: Packet): void {
    const remote = this.remote;
    if (remote === undefined || this.phase !== Phase.Up) return;
    remote.wire.send(packet);
    if (this.local !== undefined && remote.socket.writableLength > REMOTE_HIGH_WATER) this.local.pipe.hold(true);
  }

  toLocal(packet: Packet): void {
    if (this.phase !== Phase.Up) return;
    this.local?.wire.send(packet);
  }

  localRefused(why: string): void {
    this.log('warn', `Bridge ${this.name}: ${why}; reconnecting`);
    setImmediate(() => {
      if (this.phase === Phase.Up) this.down(why);
    });
  }

  dropped(why: string): void {
    const now = Date.now();
    this.droppedSinceLog++;
    if (now - this.lastDropLog < DROP_LOG_MS) return;
    this.log('warn', `Bridge ${this.name}: ${why}${this.droppedSinceLog > 1 ? ` (${this.droppedSinceLog} messages dropped since the last such line)` : ''}`);
    this.lastDropLog = now;
    this.droppedSinceLog = 0;
  }

  // ---- down and close ----------------------------------------------------------------------

  /** Closes both links (the remote's will says '0' there), says '0' locally, and reconnects. */
  private down(why: string): void {
    if (this.phase === Phase.Closed || this.phase === Phase.Idle) return;
    const wasUp = this.phase === Phase.Up;
    const where = this.trying;
    this.teardown();
    if (wasUp && this.options.notifications) this.notifyLocal('0');
    this.failed(where, why, wasUp);
  }

  /**
   * On a backup address: every MAIN_RETRY_MS, a TCP connection to the main address (closed at
   * once); once it is accepted, the link here is dropped and the next attempt starts at the main
   * address. Nothing is lost by that: both sessions are kept and the ack chain resends.
   */
  private watchMain(): void {
    const { host, port } = this.options.addresses[0]!;
    let probing = false;
    this.mainRetryTimer = setInterval(() => {
      if (probing || this.phase !== Phase.Up) return;
      probing = true;
      openRemote(host, port, undefined, MAIN_RETRY_MS).then(
        (socket) => {
          socket.destroy();
          probing = false;
          if (this.phase !== Phase.Up || this.mainRetryTimer === undefined) return;
          this.log('info', `Bridge ${this.name}: the main address ${host}:${port} answers again; moving back to it`);
          this.down('moving back to the main address');
        },
        () => {
          probing = false;
        },
      );
    }, MAIN_RETRY_MS);
  }

  private teardown(): void {
    this.flight.halt();
    clearInterval(this.mainRetryTimer);
    this.mainRetryTimer = undefined;
    clearTimeout(this.connackTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.localPingTimer);
    this.pingTimer = this.localPingTimer = undefined;
    const remote = this.remote;
    const local = this.local;
    this.remote = undefined;
    this.local = undefined;
    this.held = [];
    this.remotePaused = false;
    if (remote !== undefined) {
      remote.wire.stop();
      remote.socket.destroy();
    }
    if (local !== undefined) {
      // Acknowledgements written this tick still reach our broker before the end of its input.
      local.wire.flush();
      local.wire.stop();
      local.pipe.close();
    }
    this.phase = Phase.Idle;
  }

  /** Our broker is shutting down: the bridge stops with it. */
  private brokerClosing(): void {
    this.log('info', `Bridge ${this.name}: our broker is shutting down; bridge stopped`);
    this.teardown();
    this.phase = Phase.Closed;
    clearTimeout(this.reconnectTimer);
  }

  private async shutdown(): Promise<void> {
    const wasUp = this.phase === Phase.Up;
    clearTimeout(this.reconnectTimer);
    const remote = this.remote;
    const o = this.options;
    this.phase = Phase.Closed;
    if (remote !== undefined && wasUp) {
      // A DISCONNECT drops the will: say '0' there ourselves first.
      if (o.notifications && !o.notificationsLocalOnly) remote.wire.send({ type: 'publish', topic: o.notificationTopic, payload: Buffer.from('0'), qos: 1, retain: true, dup: false, packetId: this.flight.remoteControlId() });
      remote.wire.send({ type: 'disconnect', reasonCode: 0 });
      remote.wire.flush();
      this.remote = undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        remote.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        remote.socket.end();
      });
      this.remote = remote;
    }
    this.teardown();
    this.phase = Phase.Closed;
    if (wasUp && o.notifications) this.notifyLocal('0');
    if (wasUp) this.log('info', `Bridge ${this.name} stopped`);
  }
}
