/**
 * What a listener is, as an embedder or the mosquitto.conf reader describes it: one record per
 * listener, whatever its transport; and the old `{ port, host, ws }` form, turned into records.
 */
import { isIP } from 'node:net';
import type { TlsServerFiles } from '../../net/tls-server.js';

export type { TlsServerFiles } from '../../net/tls-server.js';

export type ListenerKind = 'tcp' | 'tls' | 'ws' | 'wss';

export interface ListenerSpec {
  kind: ListenerKind;
  /** 0 picks a free port. */
  port: number;
  /** Address to bind; loopback unless said otherwise, as mosquitto 2 does. '0.0.0.0' or '::' for all. */
  host?: string;
  /** mosquitto's socket_domain: without a host, this family's loopback; 6 on '::' takes no IPv4 clients. */
  family?: 4 | 6;
  /** ws/wss: only this path (default: any path). */
  path?: string;
  /** Required for tls and wss, an error for tcp and ws. */
  tls?: TlsServerFiles;
  /** CIDRs (a bare address is /32 or /128); when given, only these may connect. */
  allowFrom?: string[];
  /** CIDRs refused, even when allowed. */
  denyFrom?: string[];
  /** Open connections on this listener; beyond, a new one is closed at once. */
  maxConnections?: number;
  /** The client certificate's subject CN is the username (mosquitto's use_identity_as_username). */
  useIdentityAsUsername?: boolean;
  /** Shown in logs and to hooks; default `${kind}:${port}` with the bound port. */
  name?: string;
}

/** The old form: a TCP port, and a WebSocket listener when `ws` is given. */
export interface ListenOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; loopback unless said otherwise, as mosquitto 2 does. */
  host?: string;
  /** WebSocket listener: a port (0 for a free one) or { port, host, path }. */
  ws?: number | { port: number; host?: string; path?: string };
}

/** What broker.listen() resolves with, one per listener; `address`/`port`/`family` as AddressInfo had them. */
export interface ListenerRecord {
  kind: ListenerKind;
  name: string;
  address: string;
  port: number;
  family: string;
  /** e.g. mqtts://127.0.0.1:8883, wss://[::1]:8081/mqtt */
  url: string;
}

export function isListenOptions(options: ListenOptions | ListenerSpec | ListenerSpec[]): options is ListenOptions {
  return !Array.isArray(options) && !('kind' in options);
}

/** The old form as specs: TCP first, then WebSocket. */
export function specsOf(options: ListenOptions | ListenerSpec | ListenerSpec[]): ListenerSpec[] {
  if (!isListenOptions(options)) return Array.isArray(options) ? options : [options];
  const host = options.host ?? '127.0.0.1';
  const specs: ListenerSpec[] = [{ kind: 'tcp', port: options.port, host }];
  if (options.ws !== undefined) {
    const ws = typeof options.ws === 'number' ? { port: options.ws } : options.ws;
    specs.push({ kind: 'ws', port: ws.port, host: ws.host ?? host, ...(ws.path !== undefined ? { path: ws.path } : {}) });
  }
  return specs;
}

const SCHEME: Record<ListenerKind, string> = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' };

export function listenerUrl(kind: ListenerKind, address: string, port: number, path: string | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  const tail = kind === 'ws' || kind === 'wss' ? (path ?? '/mqtt') : '';
  return `${SCHEME[kind]}://${host}:${port}${tail}`;
}

/** Where a spec binds: its host, or the family's loopback address (loopback unless said otherwise). */
export function bindHost(spec: ListenerSpec): string {
  if (spec.host !== undefined) return spec.host;
  return spec.family === 6 ? '::1' : '127.0.0.1';
}

/** Checks what can be checked without opening anything; a one-line error naming the listener. */
export function checkSpec(spec: ListenerSpec): void {
  const where = `${spec.kind} listener on ${bindHost(spec)}:${spec.port}`;
  if (!['tcp', 'tls', 'ws', 'wss'].includes(spec.kind)) throw new Error(`listener kind '${String(spec.kind)}' is not one of tcp, tls, ws, wss`);
  if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65_535) throw new Error(`${where}: the port must be 0 to 65535`);
  const secure = spec.kind === 'tls' || spec.kind === 'wss';
  if (secure && spec.tls === undefined) throw new Error(`${where}: a ${spec.kind} listener needs tls { certFile, keyFile }`);
  if (!secure && spec.tls !== undefined) throw new Error(`${where}: tls files are given to a ${spec.kind} listener; use kind '${spec.kind === 'tcp' ? 'tls' : 'wss'}'`);
  if (spec.family !== undefined && spec.family !== 4 && spec.family !== 6) throw new Error(`${where}: family must be 4 or 6`);
  if (spec.family !== undefined && spec.host !== undefined && isIP(spec.host) !== 0 && isIP(spec.host) !== spec.family) {
    throw new Error(`${where}: host ${spec.host} is not an IPv${spec.family} address (family ${spec.family})`);
  }
  if (spec.maxConnections !== undefined && (!Number.isInteger(spec.maxConnections) || spec.maxConnections < 0)) {
    throw new Error(`${where}: maxConnections must be a whole number, 0 or more`);
  }
}
