/**
 * The lines `mqt broker` prints: one record per thing that happened, rendered either as text
 * for a person or as one JSON object per line for a program. Pure functions of the record and
 * the time, so the tests pin the exact text without starting a broker.
 */
import type { ChalkInstance } from 'chalk';

export interface ListenerRecord {
  kind: 'tcp' | 'tls' | 'ws' | 'wss';
  /** mqtt://, mqtts://, ws:// or wss:// with the bound address and port (and /mqtt for WebSocket). */
  url: string;
  address: string;
  port: number;
}

/**
 * The admin HTTP listener (--http-port), said once at start after the MQTT listeners: its URL,
 * whether the API takes credentials (off with none configured), and how /metrics is served.
 */
export interface AdminRecord {
  event: 'admin';
  /** http:// or https:// with the bound address and port, ending in /. */
  url: string;
  api: boolean;
  /** 'credentials': the API's; 'public': --metrics-public; 'off': the API is off and /metrics not public. */
  metrics: 'credentials' | 'public' | 'off';
}

/** What turns the API on, for the line that says it is off. */
export const ADMIN_API_HOW = 'give --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME';

/** One topic line of a bridge, as the startup line shows it. */
export interface BridgeTopicRecord {
  pattern: string;
  direction: 'in' | 'out' | 'both';
  qos: number;
  localPrefix: string;
  remotePrefix: string;
}

export type BrokerLogRecord =
  | { event: 'listening'; listeners: ListenerRecord[] }
  /** A bridge started (after the listening line, one per `connection` section): where it connects and what it carries. */
  | { event: 'bridge'; name: string; addresses: string[]; tls: boolean; protocolVersion: 3 | 4 | 5; topics: BridgeTopicRecord[] }
  | AdminRecord
  | { event: 'stopped'; signal: string }
  /** Joined a cluster (before the listening line): the Redis it shares (password masked) and this node's name. */
  | { event: 'cluster'; url: string; nodeId: string }
  | { event: 'restored'; directory: string; sessions: number; messages: number; deliveries: number; retained: number; ms: number }
  | {
      event: 'connect';
      clientId: string;
      protocolVersion: 3 | 4 | 5;
      username?: string | undefined;
      remoteAddress?: string | undefined;
      /** The listener it came in on, as listenerLabel() names it (tcp:1883, ws:8080, a file's name). */
      listener?: string | undefined;
      sessionPresent: boolean;
    }
  | { event: 'disconnect'; clientId: string; remoteAddress?: string | undefined; listener?: string | undefined; reason: string }
  /**
   * One PUBLISH on the wire (-v -v, or log_type debug/all): read from the client ('received')
   * or written to it ('sent'), in mosquitto's fields: dup, QoS, retain, packet id (0 at QoS 0).
   */
  | {
      event: 'publish';
      direction: 'received' | 'sent';
      clientId: string;
      listener?: string | undefined;
      topic: string;
      qos: number;
      retain: boolean;
      dup: boolean;
      packetId: number;
      payloadBytes: number;
    }
  /** PUBLISH lines left out in the last second, past the limit of `perSecond`. */
  | { event: 'publish-suppressed'; count: number; perSecond: number }
  /** `qos` when granted; `reasonCode` and `reason` when refused. */
  | { event: 'subscribe'; clientId: string; topicFilter: string; qos?: number; reasonCode?: number; reason?: string }
  | { event: 'unsubscribe'; clientId: string; topicFilter: string }
  | { event: 'will'; clientId: string; topic: string; qos: number; retain: boolean; payloadBytes: number }
  /** A connection closed for a protocol error; no clientId before CONNECT was read. */
  | { event: 'client-error'; clientId?: string | undefined; remoteAddress?: string | undefined; message: string };

/** One JSON object, one line: the time first, then the event and its fields. */
export function jsonLine(time: Date, record: BrokerLogRecord): string {
  return `${JSON.stringify({ time: time.toISOString(), ...record })}\n`;
}

/** The core's terse reasons for a client's own goodbye, said the way a person reads a log. */
const REASON_TEXT: Partial<Record<string, string>> = {
  disconnect: 'sent DISCONNECT',
  'disconnect with will': 'sent DISCONNECT with will',
};

const PROTOCOL_NAMES = { 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5' } as const;

// C0 and C1 control characters, DEL, and whitespace that would split a log line into words.
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\u0000-\u0020\u007f-\u009f"]/;

/**
 * A client id or topic as it can be shown safely: client ids and topics are arbitrary UTF-8,
 * and one holding a newline or a terminal escape must not forge log lines or repaint the
 * screen. Such a value (and the empty one) is shown as a JSON string literal.
 */
export function printable(value: string): string {
  return value === '' || NEEDS_QUOTES.test(value) ? JSON.stringify(value) : value;
}

/** A host in a URL: IPv6 addresses go in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time of day with milliseconds: enough to read a session's log, short enough to scan. */
export function clock(time: Date): string {
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`;
}

/** ` on LISTENER`, or nothing when the listener is not known. */
function on(listener: string | undefined): string {
  return listener !== undefined ? ` on ${printable(listener)}` : '';
}

/**
 * A listener as the log names it: its name (tcp:1883, ws:8080, or a configuration's), with the
 * port it was given when it asked for port 0 (the plan named it `tcp:0` before it was bound).
 */
export function listenerLabel(listener: { readonly name: string; readonly port: number | undefined } | undefined): string | undefined {
  if (listener === undefined) return undefined;
  const m = /^([a-z]+):0(#\d+)?$/.exec(listener.name);
  return m !== null && listener.port !== undefined ? `${m[1]}:${listener.port}${m[2] ?? ''}` : listener.name;
}

/** The event name, padded so the client ids line up in a column (padding outside the colour codes). */
function label(event: string, color: (s: string) => string): string {
  return `${color(event)}${' '.repeat(Math.max(1, 12 - event.length))}`;
}

/** The human form of a record, with a trailing newline. */
export function textLine(time: Date, record: BrokerLogRecord, c: ChalkInstance): string {
  const at = c.dim(clock(time));
  switch (record.event) {
    case 'listening': {
      const urls = record.listeners.map((l) => c.cyan(l.url)).join(' and ');
      return `mqt broker listening on ${urls}\n`;
    }
    case 'admin': {
      const what = record.api
        ? `dashboard /, API /api/v1/, metrics /metrics${record.metrics === 'public' ? ' without credentials' : ''}`
        : record.metrics === 'public'
          ? `metrics /metrics without credentials; API off: ${ADMIN_API_HOW}`
          : `API and metrics off: ${ADMIN_API_HOW}`;
      return `mqt broker admin on ${c.cyan(record.url)} (${what})\n`;
    }
    case 'bridge':
      return `mqt broker ${bridgeText(record, c)}\n`;
    case 'stopped':
      return `mqt broker stopped (${record.signal})\n`;
    case 'cluster':
      return `mqt broker cluster node ${c.bold(record.nodeId)} on ${c.cyan(record.url)}\n`;
    case 'restored': {
      const n = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;
      return `mqt broker restored ${n(record.sessions, 'session', 'sessions')}, ${n(record.deliveries, 'message owed', 'messages owed')} to them (${n(record.messages, 'message', 'messages')} stored) and ${n(record.retained, 'retained message', 'retained messages')} from ${record.directory} in ${Math.round(record.ms)} ms\n`;
    }
    case 'connect': {
      const details: string[] = [PROTOCOL_NAMES[record.protocolVersion]];
      if (record.username !== undefined) details.push(`user ${printable(record.username)}`);
      details.push(record.sessionPresent ? 'session resumed' : 'new session');
      const from = record.remoteAddress !== undefined ? ` from ${record.remoteAddress}` : '';
      return `${at} ${label('connect', c.green)}${c.bold(printable(record.clientId))}${from}${on(record.listener)} (${details.join(', ')})\n`;
    }
    case 'disconnect':
      return `${at} ${label('disconnect', c.yellow)}${c.bold(printable(record.clientId))}${on(record.listener)} (${oneLine(REASON_TEXT[record.reason] ?? record.reason)})\n`;
    case 'publish': {
      // mosquitto's words and fields, so a mosquitto user reads it at a glance (and greps it the same way).
      const who = record.direction === 'received' ? 'Received PUBLISH from' : 'Sending PUBLISH to';
      const flags = `d${record.dup ? 1 : 0}, q${record.qos}, r${record.retain ? 1 : 0}, m${record.packetId}`;
      return `${at} ${who} ${c.bold(printable(record.clientId))} (${flags}, '${escapeControls(record.topic)}', ... (${record.payloadBytes} bytes))\n`;
    }
    case 'publish-suppressed':
      return `${at} ${c.dim(`… ${record.count} more PUBLISH lines suppressed in the last second (at most ${record.perSecond} a second)`)}\n`;
    case 'subscribe': {
      const result =
        record.reasonCode !== undefined
          ? c.red(`refused: ${record.reason ?? 'refused'} (0x${record.reasonCode.toString(16).padStart(2, '0')})`)
          : `qos ${record.qos ?? 0}`;
      return `${at} ${label('subscribe', c.cyan)}${c.bold(printable(record.clientId))} ${printable(record.topicFilter)} ${result}\n`;
    }
    case 'unsubscribe':
      return `${at} ${label('unsubscribe', c.cyan)}${c.bold(printable(record.clientId))} ${printable(record.topicFilter)}\n`;
    case 'will': {
      const details = [`qos ${record.qos}`];
      if (record.retain) details.push('retained');
      details.push(`${record.payloadBytes} byte${record.payloadBytes === 1 ? '' : 's'}`);
      return `${at} ${label('will', c.magenta)}${c.bold(printable(record.clientId))} to ${printable(record.topic)} (${details.join(', ')})\n`;
    }
    case 'client-error': {
      // Before CONNECT there is no client id to name, and the event may not carry the address either.
      const who =
        record.clientId !== undefined
          ? c.bold(printable(record.clientId))
          : record.remoteAddress !== undefined
            ? `connection from ${record.remoteAddress}`
            : 'a connection before CONNECT';
      return `${at} ${label('error', c.red)}${who}: ${oneLine(record.message)}\n`;
    }
  }
}

/**
 * A bridge in one line (the start-up line and `--check`): `bridge NAME → host:port[, host:port]
 * [(TLS, MQTT 5)] topics FILTER DIRECTION qos N [(remote FILTER)], ...`; the filters are the
 * local ones, with the remote one beside it when the prefixes remap it.
 */
export function bridgeText(record: Extract<BrokerLogRecord, { event: 'bridge' }>, c: ChalkInstance): string {
  const details = [record.tls ? 'TLS' : undefined, record.protocolVersion === 4 ? undefined : PROTOCOL_NAMES[record.protocolVersion]].filter((d) => d !== undefined);
  const topics = record.topics.map((t) => {
    const remote = t.localPrefix === t.remotePrefix ? '' : ` (remote ${printable(t.remotePrefix + t.pattern)})`;
    return `${printable(t.localPrefix + t.pattern)} ${t.direction} qos ${t.qos}${remote}`;
  });
  const how = details.length > 0 ? ` (${details.join(', ')})` : '';
  return `bridge ${c.bold(printable(record.name))} → ${record.addresses.map((a) => c.cyan(a)).join(', ')}${how} topics ${topics.join(', ')}`;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Control characters as \uXXXX, the rest as it is: a topic inside quotes, on one safe line. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A free-text message on one safe line: its first line (the rest of a stack is for --debug),
 * with control characters escaped, since error texts may quote what a client sent.
 */
export function oneLine(text: string): string {
  const nl = text.indexOf('\n');
  const first = (nl < 0 ? text : text.slice(0, nl)).trim();
  return escapeControls(first);
}
