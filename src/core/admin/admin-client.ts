/**
 * A client of the admin API (/api/v1/), over node:http or node:https: what `mqt broker clients`
 * and `mqt broker kick` use, and what an embedder may use. One request per call (no keep-alive,
 * nothing left open), a bounded wait, a bounded answer. A failure is an AdminClientError whose
 * kind says what went wrong in terms a caller can word for its user (the CLI names its flags).
 */
import { createRequire } from 'node:module';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { ClientView } from './api-views.js';

export interface AdminEndpoint {
  /** The listener: http://host:port or https://host:port (a path, query or fragment is ignored). */
  url: string | URL;
  /** Sent as Authorization: Bearer. */
  token?: string | undefined;
  /** Sent as Authorization: Basic, for a password-file user the broker names admin (when there is no token). */
  basic?: { username: string; password: string } | undefined;
  /** HTTPS: trust these CA certificates (PEM) instead of the system's. */
  ca?: readonly Buffer[] | undefined;
  /** HTTPS: do not check the listener's certificate at all (CA and host name). */
  insecure?: boolean | undefined;
  /** How long a request may take from connect to the last byte; default 10 s. */
  timeoutMs?: number | undefined;
}

export type AdminFailureKind =
  /** Nothing listens there, or the host cannot be reached or resolved (`code` says which). */
  | 'unreachable'
  /** Something answered, but not HTTP: an MQTT port, or plain HTTP asked of an HTTPS listener. */
  | 'not-http'
  /** HTTPS asked of a plain HTTP listener. */
  | 'not-https'
  /** The listener's certificate was not trusted (`code`: Node's, e.g. SELF_SIGNED_CERT_IN_CHAIN). */
  | 'tls'
  | 'timeout'
  /** 401: no credentials, or wrong ones. */
  | 'unauthorized'
  /** 403: the broker has no token and no admin user, so its API is off. */
  | 'api-off'
  /** 404: no such client (or route). */
  | 'not-found'
  /** Any other error status. */
  | 'status'
  /** A 2xx answer that is not the JSON the route promises, or too large. */
  | 'bad-answer';

export class AdminClientError extends Error {
  constructor(
    readonly kind: AdminFailureKind,
    message: string,
    readonly details: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AdminClientError';
  }
}

export interface AdminAnswer {
  status: number;
  /** The parsed JSON body; undefined when there was none (204). */
  body: unknown;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The largest answer read: a client list of a busy broker is a few MB; anything past this is not ours. */
const MAX_ANSWER = 64 * 1024 * 1024;

/** Socket errors that mean nothing answers at that address. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

const require = createRequire(import.meta.url);

/** The listener's base URL, checked: http or https, a host, a port (default 80/443). */
export function adminBaseUrl(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AdminClientError('bad-answer', `not a URL: ${JSON.stringify(String(url))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AdminClientError('bad-answer', `the admin listener's URL must be http:// or https://, not ${u.protocol}//`);
  return new URL(`${u.protocol}//${u.host}/`);
}

/** host:port of a base URL, as an error message names the listener. */
export function adminAddress(url: string | URL): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80'}`;
}

function authorization(endpoint: AdminEndpoint): string | undefined {
  if (endpoint.token !== undefined) return `Bearer ${endpoint.token}`;
  if (endpoint.basic !== undefined) return `Basic ${Buffer.from(`${endpoint.basic.username}:${endpoint.basic.password}`, 'utf8').toString('base64')}`;
  return undefined;
}

/** One request to /api/v1/`path` (already URL-encoded where it must be). Error statuses reject. */
export function adminRequest(endpoint: AdminEndpoint, method: 'GET' | 'DELETE', path: string): Promise<AdminAnswer> {
  const base = adminBaseUrl(endpoint.url);
  const where = adminAddress(base);
  const https = base.protocol === 'https:';
  const auth = authorization(endpoint);
  const options: RequestOptions & { ca?: Buffer[]; rejectUnauthorized?: boolean } = {
    method,
    host: base.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: base.port !== '' ? Number(base.port) : https ? 443 : 80,
    path: `/api/v1/${path}`,
    headers: { Accept: 'application/json', ...(auth !== undefined ? { Authorization: auth } : {}) },
    agent: false,
  };
  if (https) {
    if (endpoint.ca !== undefined) options.ca = [...endpoint.ca];
    options.rejectUnauthorized = endpoint.insecure !== true;
  }
  const transport = (https ? require('node:https') : require('node:http')) as typeof import('node:http');
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return new Promise<AdminAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (err: AdminClientError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new AdminClientError('timeout', `${where} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const req: ClientRequest = transport.request(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) fail(new AdminClientError('bad-answer', `${where} answered with more than ${MAX_ANSWER / 1024 / 1024} MiB`));
        else chunks.push(chunk);
      });
      res.on('error', (cause) => fail(socketError(cause, where, https)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          resolve(answerOf(res, Buffer.concat(chunks), where));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', (cause) => fail(socketError(cause, where, https)));
    req.end();
  });
}

/** A finished answer: its JSON, or the error its status means (with the broker's own `error` text). */
function answerOf(res: IncomingMessage, raw: Buffer, where: string): AdminAnswer {
  const status = res.statusCode ?? 0;
  const type = res.headers['content-type'] ?? '';
  let body: unknown;
  if (raw.length > 0 && type.startsWith('application/json')) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new AdminClientError('bad-answer', `${where} answered with JSON that does not parse`, { status, cause });
    }
  }
  if (status >= 200 && status < 300) {
    if (raw.length > 0 && body === undefined) throw new AdminClientError('bad-answer', `${where} answered ${status} with ${type || 'no content type'}, not JSON: is it mqt's admin listener?`, { status });
    return { status, body };
  }
  const said = typeof (body as { error?: unknown } | undefined)?.error === 'string' ? (body as { error: string }).error : undefined;
  const message = said ?? `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  switch (status) {
    case 401:
      throw new AdminClientError('unauthorized', message, { status });
    case 403:
      throw new AdminClientError('api-off', message, { status });
    case 404:
      throw new AdminClientError('not-found', message, { status });
    default:
      throw new AdminClientError('status', message, { status });
  }
}

function socketError(cause: unknown, where: string, https: boolean): AdminClientError {
  const e = cause as NodeJS.ErrnoException;
  const code = e.code ?? '';
  const message = e.message ?? String(cause);
  if (UNREACHABLE.has(code)) return new AdminClientError('unreachable', `cannot reach ${where}: ${message}`, { code, cause });
  // A TLS client that got plain text back: OpenSSL calls it a wrong version number.
  if (https && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message))) {
    return new AdminClientError('not-https', `${where} does not speak HTTPS`, { code, cause });
  }
  if (https && (code.startsWith('ERR_TLS_') || code.includes('CERT') || code.includes('SELF_SIGNED') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')) {
    return new AdminClientError('tls', `the certificate of ${where} is not trusted: ${message}`, { code, cause });
  }
  // An MQTT listener closes the connection at "GET"; an HTTPS listener at plain text; a stranger may answer anything.
  if (code === 'ECONNRESET' || code === 'EPIPE' || code.startsWith('HPE_') || /socket hang up/.test(message)) {
    return new AdminClientError('not-http', `${where} closed the connection without an HTTP answer`, { code, cause });
  }
  return new AdminClientError(https && code.startsWith('ERR_SSL') ? 'tls' : 'unreachable', `${where}: ${message}`, { code, cause });
}

function isClientView(v: unknown): v is ClientView {
  return typeof v === 'object' && v !== null && typeof (v as { clientId?: unknown }).clientId === 'string';
}

/** GET /api/v1/clients: the connected clients. */
export async function listClients(endpoint: AdminEndpoint): Promise<ClientView[]> {
  const { body } = await adminRequest(endpoint, 'GET', 'clients');
  if (!Array.isArray(body) || !body.every(isClientView)) throw new AdminClientError('bad-answer', `${adminAddress(adminBaseUrl(endpoint.url))} answered GET /api/v1/clients with something other than a list of clients`);
  return body;
}

/** DELETE /api/v1/clients/{id}: disconnects the client (5.0: DISCONNECT 0x98). A client not connected is 'not-found'. */
export async function kickClient(endpoint: AdminEndpoint, clientId: string): Promise<void> {
  await adminRequest(endpoint, 'DELETE', `clients/${encodeURIComponent(clientId)}`);
}
