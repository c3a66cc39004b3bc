/**
 * The broker's HTTP(S) listener: GET /metrics, the admin API under /api/v1/, and the dashboard's
 * static files, on one port, loopback unless told otherwise. node:http or node:https is
 * required only when it opens, so a broker without it loads neither. Every error is JSON
 * `{ "error": "…" }` with its status; requests carry no body, so any body is refused.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Broker } from '../broker/broker.js';
import { loadTlsServer, type TlsServerFiles } from '../net/tls-server.js';
import { handleApi } from './api-routes.js';
import { AdminAuth, type AdminCredentials } from './auth.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import { renderMetrics, type AdminListener } from './metrics.js';
import { RateSampler } from './rates.js';
import { HttpError, sendBody, sendError } from './respond.js';
import { findDashboardDir, StaticFiles } from './static-files.js';

export interface AdminServerOptions extends AdminCredentials {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve HTTPS with this certificate and key (checked as the TLS listeners' are). */
  tls?: TlsServerFiles;
  /** /metrics without credentials (Prometheus scrapers often have no token). */
  metricsPublic?: boolean;
  /** The broker's MQTT listeners, for /api/v1/broker and per-listener metrics. */
  listeners?: readonly AdminListener[] | (() => readonly AdminListener[]);
  /** The dashboard's directory; default the package's dashboard/. */
  dashboardDir?: string;
  /** Reported by /api/v1/broker; default the package's version. */
  version?: string;
  /** Refusals are logged here (warn), errors of a route too. */
  log?: (level: 'warn' | 'error', message: string) => void;
}

export interface AdminServer {
  readonly kind: 'http' | 'https';
  readonly address: string;
  readonly port: number;
  /** http(s)://address:port/ */
  readonly url: string;
  /** Whether a token or an admin user is configured (else the API answers 403). */
  readonly apiEnabled: boolean;
  close(): Promise<void>;
}

/** Longest request line accepted; the API's URLs are short. */
const MAX_URL = 8192;
const MAX_HEADER_BYTES = 16_384;

/** What to say when no credential is configured. */
export const API_OFF =
  'the admin API is off: start mqt broker with --admin-token-file FILE (or MQT_ADMIN_TOKEN) or --admin-user NAME with a password file';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export async function startAdminServer(broker: Broker, options: AdminServerOptions): Promise<AdminServer> {
  const log = options.log ?? (() => undefined);
  const auth = new AdminAuth(options, (m) => log('warn', m));
  const dashboardDir = options.dashboardDir ?? findDashboardDir();
  const files = dashboardDir === undefined ? undefined : new StaticFiles(dashboardDir);
  const listeners = typeof options.listeners === 'function' ? options.listeners : (): readonly AdminListener[] => (options.listeners as readonly AdminListener[] | undefined) ?? [];
  const rates = new RateSampler(broker);
  const ctx = { broker, listeners, rates, version: options.version ?? packageVersion() };
  const metricsPublic = options.metricsPublic === true;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL) throw new HttpError(414, `the URL is longer than ${MAX_URL} bytes`);
    // Requests have no body here: a declared one is refused before anything is read.
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) throw new HttpError(413, 'requests to this listener carry no body');
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const read = method === 'GET' || method === 'HEAD';

    if (path === '/metrics') {
      if (!read) throw new HttpError(405, `${method} is not allowed on /metrics; use GET`, { Allow: 'GET, HEAD' });
      if (!metricsPublic) guard(req);
      return sendBody(res, 200, renderMetrics(broker, listeners()), { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    }
    if (path === '/api' || path.startsWith('/api/')) {
      guard(req);
      if (!path.startsWith('/api/v1/')) throw new HttpError(404, `no such API route: ${path.slice(0, 200)}; the API is under /api/v1/`);
      return handleApi(ctx, method, path.slice('/api/v1/'.length), query, res);
    }
    if (path === '/' || path === '/index.html' || path.startsWith('/dashboard/')) {
      if (!read) throw new HttpError(405, `${method} is not allowed on static files; use GET`, { Allow: 'GET, HEAD' });
      if (files === undefined) throw new HttpError(404, 'the dashboard files are not installed (no dashboard/index.html in the package)');
      return files.serve(path, res);
    }
    throw new HttpError(404, 'not found: this listener serves /, /dashboard/, /metrics and /api/v1/');
  };

  const guard = (req: IncomingMessage): void => {
    if (!auth.enabled) throw new HttpError(403, API_OFF);
    auth.check(req);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      log('error', `admin API: ${req.method ?? '?'} ${(req.url ?? '').split('?')[0]}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendError(res, new HttpError(500, 'internal error; see the broker log'));
      else res.destroy();
    });
  };

  const require = createRequire(import.meta.url);
  const serverOptions = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5000 };
  let server: Server;
  if (options.tls !== undefined) {
    const { options: tlsOptions } = await loadTlsServer(options.tls);
    const https = require('node:https') as typeof import('node:https');
    server = https.createServer({ ...tlsOptions, ...serverOptions }, onRequest);
    // A failed handshake is the client's problem; one per attempt in the log would let anyone fill it.
    server.on('tlsClientError', () => undefined);
  } else {
    const http = require('node:http') as typeof import('node:http');
    server = http.createServer(serverOptions, onRequest);
  }
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"bad request"}\n');
    else socket.destroy();
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolvePromise, reject) => {
    const onError = (err: Error): void => reject(Object.assign(err, { listener: { kind: options.tls !== undefined ? 'https' : 'http', host, port: options.port } }));
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolvePromise();
    });
  });
  rates.start();
  const address = server.address() as AddressInfo;
  const kind = options.tls !== undefined ? 'https' : 'http';
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    kind,
    address: address.address,
    port: address.port,
    url: `${kind}://${urlHost}:${address.port}/`,
    apiEnabled: auth.enabled,
    close: () =>
      (closing ??= new Promise<void>((resolveClose) => {
        rates.stop();
        server.close(() => resolveClose());
        server.closeAllConnections();
      })),
  };
}
