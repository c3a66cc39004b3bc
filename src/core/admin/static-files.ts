/**
 * The dashboard's files: `/` is dashboard/index.html, `/dashboard/<file>` the rest of the
 * package's dashboard/ directory. No credentials (the login form must load; the data it shows
 * comes from the API, which asks for them), a strict Content-Security-Policy, and nothing
 * outside the directory however the path is spelled.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, sendBody } from './respond.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Scripts and styles from this origin only, no inline script; the API and MQTT over WebSocket as connections. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Where the package's dashboard/ is. This module runs from src/core/admin (tests), dist/core/admin
 * (the library) or inside dist/*.bundle.cjs, whose bundler keeps each module's own
 * import.meta.url; the package root is three levels up from all of them, the others are
 * fallbacks for a bundle moved one level.
 */
export function findDashboardDir(moduleUrl: string = import.meta.url): string | undefined {
  const here = fileURLToPath(new URL('.', moduleUrl));
  for (const up of ['../../../dashboard', '../../dashboard', '../dashboard']) {
    const dir = resolve(here, up);
    if (existsSync(resolve(dir, 'index.html'))) return dir;
  }
  return undefined;
}

export class StaticFiles {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  /** Serves the file for `rawPath` (`/` or `/dashboard/…`, still URL-encoded); throws 404 for anything else. */
  async serve(rawPath: string, res: import('node:http').ServerResponse): Promise<void> {
    const file = this.fileFor(rawPath);
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      body = await readFile(file);
    } catch {
      throw new HttpError(404, `no such file: ${rawPath.slice(0, 200)}`);
    }
    sendBody(res, 200, body, {
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
  }

  /** The file a path names, inside the root; a traversal, however encoded, is a 404 like any missing file. */
  fileFor(rawPath: string): string {
    if (rawPath === '/' || rawPath === '/index.html') return resolve(this.root, 'index.html');
    if (!rawPath.startsWith('/dashboard/')) throw new HttpError(404, 'not found');
    let rest: string;
    try {
      rest = decodeURIComponent(rawPath.slice('/dashboard/'.length));
    } catch {
      throw new HttpError(400, 'bad URL encoding');
    }
    const parts = rest.split('/');
    // Decoded, each segment is checked: `..` (also sent as %2e%2e), a backslash or NUL, an empty segment (`//etc`).
    if (rest === '' || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) throw new HttpError(404, 'not found');
    const file = resolve(this.root, ...parts);
    if (!file.startsWith(this.root + sep)) throw new HttpError(404, 'not found');
    return file;
  }
}
