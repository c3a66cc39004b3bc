/**
 * How the admin listener answers: JSON bodies, JSON errors (`{ "error": "…" }`) and the headers
 * every answer carries. One place, so a route cannot forget nosniff or answer an error as HTML.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers on every answer: the browser must not guess a type, and data must not be cached. */
const COMMON = { 'X-Content-Type-Options': 'nosniff' } as const;

/** An error a route throws on purpose: its status and one line for the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...COMMON,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text); // Node drops the body of an answer to HEAD and keeps Content-Length
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message }, err.headers);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { ...COMMON, 'Cache-Control': 'no-store' });
  res.end();
}

export function sendBody(res: ServerResponse, status: number, body: Buffer | string, headers: Readonly<Record<string, string>>): void {
  res.writeHead(status, { ...COMMON, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The peer's address for log lines (the socket's; no proxy header is trusted). */
export function remoteOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
