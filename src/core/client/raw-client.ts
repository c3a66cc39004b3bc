/**
 * A minimal MQTT client on our own codec, for the client that `mqt lwt-test` kills on purpose.
 * MQTT.js will not misbehave: it pings on its own and always says DISCONNECT when it ends.
 * This one only connects, then does exactly what it is told:
 *
 *   kill()            the transport is destroyed, no DISCONNECT: a crashed client;
 *   (nothing)         it never sends PINGREQ, so with a keep-alive it goes silent;
 *   disconnect(code)  DISCONNECT with a reason code (0x04 asks a 5.0 broker for the will).
 *
 * It reports when the transport closed, who closed it, and any DISCONNECT the broker sent
 * first (5.0 takeover: 0x8E). The byte stream (TCP, TLS, WebSocket, secure WebSocket) is a
 * core/net Link, as bench's, opened from the same ConnectionOptions the MQTT.js commands use.
 */
import { performance } from 'node:perf_hooks';
import { encode } from '../codec/encode.js';
import type { MqttError } from '../codec/errors.js';
import { Parser } from '../codec/parser.js';
import type { ConnackPacket, DisconnectPacket, Packet, Properties, Will } from '../codec/types.js';
import { createDialer, type Link } from '../net/dial.js';
import { ConnectError, connectError } from './diagnose.js';
import type { ConnectionOptions, ProtocolLevel } from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface RawConnectOptions {
  /** Where and how: transport, host, port, WebSocket path, TLS, user name and password. */
  connection: ConnectionOptions;
  clientId: string;
  protocolVersion: ProtocolLevel;
  /** Seconds; the client never pings, so the broker gives up on it after 1.5 times this. */
  keepalive: number;
  clean: boolean;
  will?: Will | undefined;
  /** CONNECT properties (5.0). */
  properties?: Properties | undefined;
  /** Every packet sent and received, for -d. */
  onPacket?: ((direction: 'sent' | 'received', packet: Packet) => void) | undefined;
}

export interface RawClose {
  /** performance.now() when the transport ended. */
  at: number;
  /** 'client' after kill() or disconnect(); 'broker' when the other side ended it. */
  by: 'client' | 'broker';
  /** The DISCONNECT the broker sent before closing (5.0 only), e.g. 0x8E Session taken over. */
  disconnect: DisconnectPacket | undefined;
  /** Set when the client closed because the broker sent a malformed packet: the codec's words. */
  malformed?: string | undefined;
}

/** performance.now() as the clock of everything lwt-test measures: monotonic, sub-millisecond. */
export const now = (): number => performance.now();

/** What the link's events are for: the first packet before CONNACK, then the close. */
class Session {
  firstPacket: ((packet: Packet) => void) | undefined;
  failed: ((err: Error) => void) | undefined;
  brokerDisconnect: DisconnectPacket | undefined;
  /** Why the client closed on the broker's malformed packet. */
  malformed: string | undefined;
  byClient = false;
  closed: RawClose | undefined;
  onClosed: ((close: RawClose) => void) | undefined;
}

export class RawClient {
  /** When CONNACK arrived: the client's last word to the broker was its CONNECT. */
  readonly connackAt: number;
  /** Resolves when the transport is gone, whoever ended it. */
  readonly closed: Promise<RawClose>;

  private constructor(
    private readonly link: Link,
    private readonly session: Session,
    readonly connack: ConnackPacket,
    private readonly options: RawConnectOptions,
  ) {
    this.connackAt = now();
    this.closed = new Promise<RawClose>((resolve) => {
      if (session.closed !== undefined) resolve(session.closed);
      else session.onClosed = resolve;
    });
  }

  /**
   * Connects and waits for CONNACK. Throws a ConnectError: a refusal carries the CONNACK code,
   * anything else is explained as connect.ts explains MQTT.js's failures.
   */
  static async connect(options: RawConnectOptions): Promise<RawClient> {
    const { connection, protocolVersion } = options;
    const timeoutMs = connection.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = now() + timeoutMs;
    let link: Link | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      link = await (await createDialer(connection)).open(timeoutMs);
      const session = new Session();
      const parser = new Parser({ protocolVersion });
      link.setHandler({
        onData(chunk) {
          let packets: Packet[];
          let malformed: string | undefined;
          try {
            packets = parser.push(chunk);
          } catch (err) {
            // What came before the bad packet in the chunk (a CONNACK) still counts.
            packets = (err as MqttError).packetsBefore ?? [];
            malformed = (err as Error).message;
          }
          for (const packet of packets) {
            options.onPacket?.('received', packet);
            if (session.firstPacket !== undefined) session.firstPacket(packet);
            else if (packet.type === 'disconnect') session.brokerDisconnect = packet;
          }
          if (malformed === undefined) return;
          // A protocol violation closes the connection (3.1.1 [MQTT-4.8.0-1]): a broker's malformed
          // packet, before or after CONNACK, ends this client; lwt-test reports it as the broker's fault.
          session.malformed ??= malformed;
          session.byClient = true;
          session.failed?.(Object.assign(new Error(`the broker sent a malformed packet: ${malformed}`), { code: 'EPROTO' }));
          link?.destroy();
        },
        onDrain() {},
        onClose(err) {
          session.closed = { at: now(), by: session.byClient ? 'client' : 'broker', disconnect: session.brokerDisconnect, malformed: session.malformed };
          session.failed?.(err ?? Object.assign(new Error('closed'), { code: 'ECLOSED' }));
          session.onClosed?.(session.closed);
        },
      });
      const connect: Packet = {
        type: 'connect',
        protocolVersion,
        clean: options.clean,
        keepalive: options.keepalive,
        clientId: options.clientId,
        ...(connection.username !== undefined ? { username: connection.username } : {}),
        ...(connection.password !== undefined ? { password: connection.password } : {}),
        ...(options.will !== undefined ? { will: protocolVersion === 5 ? options.will : withoutProperties(options.will) } : {}),
        ...(protocolVersion === 5 && options.properties !== undefined ? { properties: options.properties } : {}),
      };
      const answer = new Promise<Packet>((resolve, reject) => {
        session.firstPacket = resolve;
        session.failed = reject;
        timer = setTimeout(() => reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), Math.max(0, deadline - now()));
      });
      options.onPacket?.('sent', connect);
      link.write(encode(connect, protocolVersion));
      const connack = await answer;
      session.firstPacket = undefined;
      session.failed = undefined;
      if (connack.type !== 'connack') throw Object.assign(new Error(`the broker answered CONNECT with ${connack.type.toUpperCase()}`), { code: 'EPROTO' });
      if (connack.reasonCode !== 0) {
        throw connectError(new Error('refused'), connection, protocolVersion, protocolVersion === 5 ? { reasonCode: connack.reasonCode } : { returnCode: connack.reasonCode });
      }
      if (connack.sessionPresent && options.clean) {
        // A clean start leaves the client no session: a broker claiming one is wrong, and the
        // connection is closed (5.0 [MQTT-3.2.2-4]; 3.1.1 forbids the answer, [MQTT-3.2.2-1]).
        throw new ConnectError(`the broker answered the clean CONNECT of ${options.clientId} with Session Present 1, a session this client cannot have: lwt-test closed the connection`, { code: 'EPROTO' });
      }
      return new RawClient(link, session, connack, options);
    } catch (err) {
      link?.destroy();
      if (err instanceof ConnectError) throw err;
      throw connectError(err as Error, connection, protocolVersion);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The codec's words for the malformed packet the broker sent, once the client closed on it. */
  get malformed(): string | undefined {
    return this.session.malformed;
  }

  /** Destroys the transport without a word: what the broker sees of a crashed client. */
  kill(): void {
    this.session.byClient = true;
    this.link.destroy();
  }

  /** Sends DISCONNECT (5.0 with `reasonCode`; 3.1.1 has none) and closes our side. */
  disconnect(reasonCode = 0): void {
    this.session.byClient = true;
    const packet: DisconnectPacket = this.options.protocolVersion === 5 ? { type: 'disconnect', reasonCode } : { type: 'disconnect' };
    this.options.onPacket?.('sent', packet);
    this.link.end(encode(packet, this.options.protocolVersion));
  }

  /** Closes whatever is left, without waiting; for clean-up after a test. */
  destroy(): void {
    if (this.session.closed === undefined) this.session.byClient = true;
    this.link.destroy();
  }
}

function withoutProperties(will: Will): Will {
  const { properties: _p, ...rest } = will;
  return rest;
}
