/**
 * The one place in mqt that turns our ConnectionOptions into MQTT.js options and connects.
 * It adds what a command-line client needs around MQTT.js: MQTT 5 first with a fall back to
 * 3.1.1 when the broker refuses 5, a first connect that fails fast instead of retrying
 * forever, and failures explained in plain words (connectError in diagnose.ts). With several
 * brokers (options.brokers) the first connect tries them in order, and a lost connection moves
 * to the next one (failover.ts).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { createRequire } from 'node:module';
import type WebSocket from 'ws';
import { connect as mqttConnect, type IClientOptions, type IConnackPacket, type MqttClient, type Packet as MqttPacket } from 'mqtt';
import { ReasonCode } from '../codec/constants.js';
import type { Properties } from '../codec/types.js';
import { tlsClientOptions, type TlsClientOptions } from '../net/tls-files.js';
import { ConnectError, connectError, isUnsupportedVersion } from './diagnose.js';
import { attemptReason, brokerUrl, Failover } from './failover.js';
import { toMqttJsProperties } from './properties.js';
import type { ConnectionOptions, ProtocolLevel } from './types.js';

export { ConnectError } from './diagnose.js';
export type { MqttClient, IConnackPacket, MqttPacket };

// ws is CommonJS, loaded on demand: only WebSocket connections need it.
const require = createRequire(import.meta.url);

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RECONNECT_PERIOD_MS = 1_000;

export interface ConnectHooks {
  /** Told before the second attempt, when the broker refused MQTT 5 and 3.1.1 is tried. */
  onFallback?: ((refusal: string) => void) | undefined;
  /** Every packet sent and received, for `-d`. */
  onPacket?: ((direction: 'sent' | 'received', packet: MqttPacket) => void) | undefined;
  /**
   * What the command wants that only MQTT 5 carries, named for the user (`--message-expiry`).
   * With any, a broker refusing 5 is an error instead of a silent fall back that drops them.
   */
  needsMqtt5?: readonly string[] | undefined;
  /**
   * Called with each MQTT.js client before CONNECT goes out. Listeners for what a broker sends
   * right after CONNACK (the queued messages of a persistent session) belong here: by the
   * time connect() resolves, MQTT.js may already have emitted them.
   */
  onClient?: ((client: MqttClient) => void) | undefined;
  /**
   * With several brokers: one line each time the client moves between them ("lost mqtt://a:1883
   * (connection reset); trying mqtt://b:1883", "connected to mqtt://b:1883").
   */
  onFailover?: ((line: string) => void) | undefined;
}

export interface Connection {
  readonly client: MqttClient;
  /** The protocol the broker accepted: 5, or 4 after a fall back. */
  readonly protocolVersion: ProtocolLevel;
  readonly connack: IConnackPacket;
  /** Several brokers: connect() tells of moves between them (hooks.onFailover), not the command. */
  readonly failover: boolean;
  /** The broker in use now (or being tried while reconnecting), as a URL: mqtt://host:1883. */
  readonly broker: string;
  /**
   * Waits for outstanding acknowledgements, sends DISCONNECT (with properties in 5.0) and
   * closes. Safe to call when the connection is already gone.
   */
  end(properties?: Properties): Promise<void>;
  /** Closes at once, without DISCONNECT: the broker then publishes the will. */
  destroy(): Promise<void>;
}

type ClientOptions = IClientOptions & Pick<TlsConnectionOptions, 'minVersion' | 'maxVersion'>;

/**
 * Reads the TLS files with the reader the raw dialer uses too (core/net), so both fail alike;
 * a file that cannot be read is a ConnectError with its one-line message (code EFILE).
 */
async function loadTls(options: ConnectionOptions, protocolVersion: ProtocolLevel): Promise<TlsClientOptions> {
  try {
    return await tlsClientOptions(options.tls ?? { insecure: false }, options.host);
  } catch (err) {
    throw connectError(err as Error, options, protocolVersion);
  }
}

/**
 * Our options as MQTT.js options. Exported for tests; connect() is the only caller in mqt.
 * Reconnecting stays off here: connect() turns it on once the first connection is up.
 */
export async function toClientOptions(options: ConnectionOptions, protocolVersion: ProtocolLevel = options.protocolVersion): Promise<ClientOptions> {
  const v5 = protocolVersion === 5;
  const secure = options.transport === 'mqtts' || options.transport === 'wss';
  const tls = secure ? await loadTls(options, protocolVersion) : {};
  const out: ClientOptions = {
    protocol: options.transport,
    host: options.host,
    hostname: options.host,
    port: options.port,
    clientId: options.clientId,
    keepalive: options.keepalive,
    clean: options.clean,
    protocolVersion,
    // MQTT 3.1 has its own protocol name [MQTT 3.1 section 3.1]; 3.1.1 and 5 say "MQTT".
    protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
    reconnectPeriod: 0,
    // Ours (in attempt) covers TCP and TLS too and fires first; MQTT.js's is only a backstop.
    connectTimeout: (options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + 1000,
    // We keep QoS 0 messages published while a -l stream reconnects, as QoS 1/2 ones are kept.
    queueQoSZero: true,
    resubscribe: true,
    // MQTT.js's default pre-builds 65,536 two-byte buffers (mqtt-packet's number cache) on the first
    // write: ~35 ms of allocation and GC in a client that starts once per message, for no gain.
    writeCache: false,
    ...tls,
  };
  if (options.transport === 'ws' || options.transport === 'wss') {
    out.path = options.wsPath;
    // MQTT.js copies only some TLS options to the WebSocket (not servername); give it all of them.
    if (secure) out.wsOptions = { ...tls } as IClientOptions['wsOptions'];
  }
  if (options.username !== undefined) out.username = options.username;
  if (options.password !== undefined) out.password = options.password;
  if (v5) {
    const props = toMqttJsProperties(options.properties);
    if (props !== undefined) out.properties = props as IClientOptions['properties'];
  }
  if (options.will !== undefined) {
    const w = options.will;
    const willProps = v5 ? toMqttJsProperties(w.properties) : undefined;
    out.will = { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain, ...(willProps ? { properties: willProps } : {}) } as IClientOptions['will'];
  }
  return out;
}

interface Attempt {
  client: MqttClient;
  connack: IConnackPacket;
}

/**
 * One connection attempt that settles once: with the CONNACK, or with the first failure
 * (socket or TLS error, a refusal, a close, the timeout), after which the client is ended so
 * MQTT.js does not retry on its own.
 */
function attempt(clientOptions: ClientOptions, options: ConnectionOptions, hooks: ConnectHooks): Promise<Attempt> {
  const isWs = options.transport === 'ws' || options.transport === 'wss';
  // ws is loaded only for WebSocket connections (it costs start-up time otherwise).
  const WebSocketClass = isWs ? (require('ws') as typeof WebSocket) : undefined;
  return new Promise<Attempt>((resolve, reject) => {
    // manualConnect: every listener is in place before CONNECT is written (-d traces it).
    const client = mqttConnect({ ...clientOptions, manualConnect: true, ...(isWs ? { createWebsocket } : {}) });
    let connack: IConnackPacket | undefined;
    // MQTT.js drops stream errors without a code (ws reports an HTTP refusal that way) and
    // then only sees the close: keep the transport's last word for the diagnosis.
    let transportError: Error | undefined;
    function createWebsocket(url: string, protocols: string[], o: IClientOptions): WebSocket {
      const socket = new WebSocketClass!(url, protocols, o.wsOptions as WebSocket.ClientOptions);
      socket.on('error', (err) => {
        transportError = err;
      });
      return socket;
    }
    // MQTT.js times only the wait for CONNACK; this also covers a TCP or TLS handshake that hangs.
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    const onPacket = (packet: MqttPacket): void => {
      if (packet.cmd === 'connack') connack = packet;
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('packetreceive', onPacket);
      client.off('connect', onConnect);
      client.off('error', fail);
      client.off('close', onClose);
    };
    const onConnect = (packet: IConnackPacket): void => {
      cleanup();
      resolve({ client, connack: packet });
    };
    // A plain TCP connection to a WebSocket (or web) port gets an HTTP answer, which MQTT.js
    // can only report as a malformed packet: told by the bytes themselves.
    let httpAnswer = false;
    // A TLS connection closed before its handshake ended: a plain port that read the ClientHello as garbage.
    let tlsPending = options.transport === 'mqtts';
    function fail(err: Error): void {
      cleanup();
      client.end(true);
      const closed = ['ECLOSED', 'ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '');
      const cause =
        httpAnswer && connack === undefined
          ? Object.assign(new Error(`HTTP answer to MQTT (${err.message})`), { code: 'EHTTP' })
          : tlsPending && closed
            ? Object.assign(new Error(`closed during the TLS handshake (${err.message})`), { code: 'ETLSCLOSED' })
            : err;
      reject(connectError(cause, options, clientOptions.protocolVersion as ProtocolLevel, connack));
    }
    const onClose = (): void => fail(transportError ?? Object.assign(new Error('closed'), { code: 'ECLOSED' }));
    if (hooks.onPacket !== undefined) {
      const trace = hooks.onPacket;
      client.on('packetsend', (p) => trace('sent', p));
      client.on('packetreceive', (p) => trace('received', p));
    }
    client.on('packetreceive', onPacket);
    client.once('connect', onConnect);
    client.on('error', fail);
    client.on('close', onClose);
    hooks.onClient?.(client);
    client.connect();
    if (tlsPending) {
      client.stream?.once('secureConnect', () => {
        tlsPending = false;
      });
    }
    if (!isWs) {
      // Before MQTT.js's own listener: its parser fails on the same chunk, synchronously.
      (client.stream as NodeJS.ReadableStream | undefined)?.prependOnceListener('data', (chunk: Buffer) => {
        if (chunk.length >= 5 && chunk.toString('latin1', 0, 5) === 'HTTP/') httpAnswer = true;
      });
    }
  });
}

/**
 * Connects, or throws a ConnectError whose message says what went wrong and what to try,
 * and whose reasonCode is the CONNACK code when the broker refused.
 */
export async function connect(options: ConnectionOptions, hooks: ConnectHooks = {}): Promise<Connection> {
  const brokers = options.brokers;
  if (brokers === undefined || brokers.length < 2) {
    const { result, version } = await connectOne(options, hooks);
    return connection(result, options, version, undefined);
  }
  // In order; each failure is told as it happens (a timeout takes a while), and when every
  // broker failed, one error names each and why.
  const failures: string[] = [];
  let last: ConnectError | undefined;
  for (let i = 0; i < brokers.length; i++) {
    const here = { ...options, ...brokers[i]! };
    try {
      const { result, version } = await connectOne(here, hooks);
      if (i > 0) hooks.onFailover?.(`connected to ${brokerUrl(brokers[i]!)}`);
      let failover: Failover | undefined;
      if (options.reconnect) {
        const clientOptions = await Promise.all(brokers.map((b) => toClientOptions({ ...options, ...b }, version)));
        failover = new Failover(result.client, { brokers, clientOptions, index: i, notify: (line) => hooks.onFailover?.(line) });
      }
      return connection(result, here, version, failover);
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      last = err;
      // The message names the broker already ("connection refused by host:port: …").
      failures.push(err.message);
      if (i + 1 < brokers.length) hooks.onFailover?.(`${brokerUrl(brokers[i]!)}: ${attemptReason(err.code, err.reasonCode, err.message, here.protocolVersion)}; trying ${brokerUrl(brokers[i + 1]!)}`);
    }
  }
  throw new ConnectError(`none of the ${brokers.length} brokers accepted the connection: ${failures.map((f, i) => `(${i + 1}) ${f}`).join(' ')}`, {
    reasonCode: last?.reasonCode,
    code: last?.code,
  });
}

/** One broker: MQTT 5 first, then 3.1.1 when it refuses 5 and the user did not choose. */
async function connectOne(options: ConnectionOptions, hooks: ConnectHooks): Promise<{ result: Attempt; version: ProtocolLevel }> {
  let version = options.protocolVersion;
  let result: Attempt;
  try {
    result = await attempt(await toClientOptions(options, version), options, hooks);
  } catch (err) {
    if (!(err instanceof ConnectError) || !options.fallback || version !== 5 || !isUnsupportedVersion(err)) throw err;
    const needs = hooks.needsMqtt5 ?? [];
    if (needs.length > 0) {
      throw new ConnectError(`${err.message}; falling back to MQTT 3.1.1 would drop ${needs.join(', ')}, which need MQTT 5`, {
        reasonCode: err.reasonCode,
        code: err.code,
      });
    }
    hooks.onFallback?.(err.message);
    version = 4;
    result = await attempt(await toClientOptions(options, version), options, hooks);
  }
  return { result, version };
}

function connection({ client, connack }: Attempt, options: ConnectionOptions, protocolVersion: ProtocolLevel, failover: Failover | undefined): Connection {
  // From here on a lost connection is MQTT.js's to restore, when the user wants that.
  if (options.reconnect) client.options.reconnectPeriod = options.reconnectPeriodMs ?? DEFAULT_RECONNECT_PERIOD_MS;
  // Reconnect attempts report errors too; the command watches 'offline' and 'close' instead.
  client.on('error', () => undefined);
  const here = brokerUrl(options);
  return {
    client,
    protocolVersion,
    connack,
    failover: failover !== undefined,
    get broker() {
      return failover === undefined ? here : brokerUrl(failover.current);
    },
    end(properties?: Properties) {
      return new Promise<void>((resolve) => {
        if (client.disconnected || client.disconnecting) return resolve();
        const props = protocolVersion === 5 ? toMqttJsProperties(properties) : undefined;
        client.end(false, { reasonCode: ReasonCode.NormalDisconnection, ...(props ? { properties: props } : {}) }, () => resolve());
      });
    },
    destroy() {
      return new Promise<void>((resolve) => {
        if (client.disconnected) return resolve();
        client.end(true, () => resolve());
      });
    },
  };
}
