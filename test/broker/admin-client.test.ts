/**
 * The admin API's client (core/admin/admin-client.ts) against the real admin listener and
 * against peers that are not one: each failure comes out as its kind, so the CLI can say
 * what to do.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'vitest';
import { describe, expect, it } from 'vitest';
import { AdminClientError, adminBaseUrl, adminRequest, kickClient, listClients, type AdminFailureKind } from '../../src/core/admin/index.js';
import { brokerFor, connect } from '../helpers/broker-client.js';
import { freePort } from '../helpers/free-port.js';
import { adminFor, TOKEN } from './admin-helpers.js';

/** Listens on a loopback port until the test ends, then closes with every connection it still holds. */
async function listening<S extends Server | HttpServer>(ctx: TestContext, server: S): Promise<string> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  );
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function kindOf(p: Promise<unknown>): Promise<AdminFailureKind> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminClientError);
  return (err as AdminClientError).kind;
}

describe('admin API client', () => {
  it('lists and kicks over the real listener, with a token or Basic', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker, { adminUsers: ['root'], verifyUser: (u, p) => u === 'root' && p.toString() === 'pw' });
    const { client } = await connect(broker, { clientId: 'c/1', protocolVersion: 5 });
    const url = admin.server.url;
    expect((await listClients({ url, token: TOKEN })).map((c) => c.clientId)).toEqual(['c/1']);
    expect((await listClients({ url, basic: { username: 'root', password: 'pw' } })).map((c) => c.clientId)).toEqual(['c/1']);
    await kickClient({ url, token: TOKEN }, 'c/1');
    expect((await client.expect('disconnect')).reasonCode).toBe(0x98);
    const gone = await adminRequest({ url, token: TOKEN }, 'DELETE', `clients/${encodeURIComponent('c/1')}`).catch((e: unknown) => e as AdminClientError);
    expect(gone).toMatchObject({ kind: 'not-found', message: 'no client "c/1" is connected', details: { status: 404 } });
  });

  it('tells a refused credential from an API that is off', async (ctx) => {
    const broker = brokerFor(ctx);
    const on = await adminFor(ctx, broker);
    const off = await adminFor(ctx, broker, { token: undefined });
    expect(await kindOf(listClients({ url: on.server.url, token: 'wrong' }))).toBe('unauthorized');
    expect(await kindOf(listClients({ url: on.server.url }))).toBe('unauthorized');
    expect(await kindOf(listClients({ url: off.server.url, token: TOKEN }))).toBe('api-off');
  });

  it('says nothing listens, the peer is not HTTP, it never answers, or it answers something else', async (ctx) => {
    const closed = await freePort();
    expect(await kindOf(listClients({ url: `http://127.0.0.1:${closed}`, token: 't' }))).toBe('unreachable');

    // An MQTT listener closes the connection at "GET".
    const hangUp = await listening(ctx, createServer((s) => s.destroy()));
    expect(await kindOf(listClients({ url: hangUp, token: 't' }))).toBe('not-http');

    const silent = await listening(ctx, createServer(() => undefined));
    expect(await kindOf(listClients({ url: silent, token: 't', timeoutMs: 300 }))).toBe('timeout');

    const html = await listening(ctx, createHttpServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>')));
    expect(await kindOf(listClients({ url: html, token: 't' }))).toBe('bad-answer');

    const notList = await listening(ctx, createHttpServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"clients":[]}')));
    expect(await kindOf(listClients({ url: notList, token: 't' }))).toBe('bad-answer');

    const broken = await listening(ctx, createHttpServer((_req, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"boom"}')));
    await expect(listClients({ url: broken, token: 't' })).rejects.toMatchObject({ kind: 'status', message: 'boom', details: { status: 500 } });
  });

  it('says when HTTPS meets plain HTTP', async (ctx) => {
    const http = await listening(ctx, createHttpServer((_req, res) => res.end()));
    expect(await kindOf(listClients({ url: http.replace('http:', 'https:'), token: 't' }))).toBe('not-https');
  });

  it('takes only http:// and https:// URLs, and ignores a path', () => {
    expect(adminBaseUrl('http://h:1/some/path?x#y').href).toBe('http://h:1/');
    expect(() => adminBaseUrl('mqtt://h:1')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => adminBaseUrl('nonsense')).toThrow(/not a URL/);
  });
});
