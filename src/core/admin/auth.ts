/**
 * Who may read the admin API and /metrics: a bearer token (compared in constant time), or HTTP
 * Basic with a password-file user the configuration names as an admin. The password check is
 * the caller's (the broker command hands in its FileAuth's), so this file needs no file format.
 *
 * A refusal says `WWW-Authenticate: Bearer realm="mqt"`, never Basic: a browser shown Basic
 * would pop up its own dialog over the dashboard's login form.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, remoteOf } from './respond.js';

export interface AdminCredentials {
  /** The bearer token; undefined or empty: no token accepted. */
  token?: string | undefined;
  /** Users of the password file who may use the API with Basic. */
  adminUsers?: readonly string[] | undefined;
  /** Whether `password` is `username`'s (the password file's check). Needed for adminUsers. */
  verifyUser?: ((username: string, password: Buffer) => boolean) | undefined;
}

/** How often a refused address is logged, at most. */
const LOG_EVERY_MS = 60_000;
/** Addresses remembered for the log limit; past it the table starts again (an attack of many addresses logs more). */
const MAX_REMEMBERED = 10_000;

const digest = (text: string | Buffer): Buffer => createHash('sha256').update(text).digest();

export const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="mqt"' } as const;

export class AdminAuth {
  private readonly tokenDigest: Buffer | undefined;
  private readonly admins: ReadonlySet<string>;
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly credentials: AdminCredentials,
    private readonly warn: (message: string) => void,
  ) {
    const token = credentials.token;
    this.tokenDigest = token !== undefined && token !== '' ? digest(token) : undefined;
    this.admins = new Set(credentials.verifyUser === undefined ? [] : (credentials.adminUsers ?? []));
  }

  /** Whether any credential can succeed: with none, the API is off. */
  get enabled(): boolean {
    return this.tokenDigest !== undefined || this.admins.size > 0;
  }

  /** Throws 401 (logged, at most once a minute per address) unless the request carries good credentials. */
  check(req: IncomingMessage, now = Date.now()): void {
    const why = this.refusal(req.headers.authorization);
    if (why === undefined) return;
    const address = remoteOf(req);
    const last = this.lastLogged.get(address);
    if (last === undefined || now - last >= LOG_EVERY_MS) {
      if (this.lastLogged.size >= MAX_REMEMBERED) this.lastLogged.clear();
      this.lastLogged.set(address, now);
      this.warn(`admin API: refused ${req.method ?? '?'} ${pathOnly(req.url)} from ${address}: ${why}`);
    }
    throw new HttpError(401, why === 'no credentials' ? 'credentials needed: Authorization: Bearer <token> or Basic with an admin user' : 'wrong credentials', UNAUTHORIZED_HEADERS);
  }

  /** Why the header does not let the request in; undefined when it does. */
  private refusal(header: string | undefined): string | undefined {
    if (header === undefined || header.trim() === '') return 'no credentials';
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer') {
      // Digests of equal length: timingSafeEqual needs it, and the token's length stays hidden.
      if (this.tokenDigest !== undefined && timingSafeEqual(digest(value), this.tokenDigest)) return undefined;
      return 'wrong token';
    }
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return 'malformed Basic credentials';
      const user = decoded.slice(0, colon);
      const password = Buffer.from(decoded.slice(colon + 1), 'utf8');
      // The password is checked even for a user who is not an admin, so timing does not tell admins apart.
      const ok = this.credentials.verifyUser?.(user, password) === true;
      if (ok && this.admins.has(user)) return undefined;
      return ok ? `user ${JSON.stringify(user)} is not an admin` : 'wrong user or password';
    }
    return `unsupported scheme ${JSON.stringify(scheme.slice(0, 20))}`;
  }
}

/** The path of a request URL without its query (a token must never be logged, nor anything after ?). */
function pathOnly(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}
