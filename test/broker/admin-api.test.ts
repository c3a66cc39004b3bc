/**
 * The admin API (/api/v1/) over real HTTP with fetch, against a broker whose clients are
 * in-process: credentials (Bearer, Basic, wrong, none, off), every route's JSON, kick, sessions,
 * retained listing and deletion.
 */
import { describe, expect, it } from 'vitest';
import { brokerFor, connect, until } from '../helpers/broker-client.js';
import type { BrokerView, ClientDetailView, ClientView, DeletedView, ErrorView, RatesView, RetainedView, SessionView } from '../../src/core/admin/index.js';
import { adminFor, basic, json, TOKEN } from './admin-helpers.js';

const ROUTES = ['/api/v1/broker', '/api/v1/rates', '/api/v1/clients', '/api/v1/clients/x', '/api/v1/sessions', '/api/v1/retained', '/metrics'];

describe('admin API credentials', () => {
  it('refuses every data route without credentials or with a wrong token (401, Bearer challenge), and logs once per address a minute', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    for (const path of ROUTES) {
      for (const auth of [null, 'Bearer wrong', `Bearer ${TOKEN}x`, 'Token abc', basic('admin', TOKEN)]) {
        const res = await admin.get(path, { auth });
        expect(res.status, `${path} with ${auth}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="mqt"');
        expect(await json<ErrorView>(res)).toHaveProperty('error');
      }
    }
    const refusals = admin.logs.filter((l) => l.startsWith('warn: admin API: refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain('127.0.0.1');
    expect(refusals[0]).not.toContain(TOKEN);
  });

  it('lets a good token in on every route', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    for (const path of ROUTES.filter((p) => p !== '/api/v1/clients/x')) expect((await admin.get(path)).status, path).toBe(200);
  });

  it('takes Basic for a password user the config names admin, and refuses a valid user who is not one', async (ctx) => {
    const broker = brokerFor(ctx);
    const users = new Map([
      ['root', 'secret'],
      ['bob', 'hunter2'],
    ]);
    const admin = await adminFor(ctx, broker, {
      token: undefined,
      adminUsers: ['root'],
      verifyUser: (u, p) => users.get(u) === p.toString('utf8'),
    });
    expect((await admin.get('/api/v1/clients', { auth: basic('root', 'secret') })).status).toBe(200);
    expect((await admin.get('/api/v1/clients', { auth: basic('root', 'wrong') })).status).toBe(401);
    expect((await admin.get('/api/v1/clients', { auth: basic('bob', 'hunter2') })).status).toBe(401);
    expect((await admin.get('/api/v1/clients', { auth: `Bearer ${TOKEN}` })).status).toBe(401);
  });

  it('with no token and no admin user the API and /metrics are off with a line that says how to turn them on; --metrics-public opens /metrics', async (ctx) => {
    const broker = brokerFor(ctx);
    const off = await adminFor(ctx, broker, { token: undefined });
    expect(off.server.apiEnabled).toBe(false);
    for (const path of ['/api/v1/clients', '/metrics']) {
      const res = await off.get(path, { auth: null });
      expect(res.status).toBe(403);
      expect((await json<ErrorView>(res)).error).toMatch(/--admin-token-file/);
    }
    const pub = await adminFor(ctx, broker, { token: undefined, metricsPublic: true });
    expect((await pub.get('/metrics', { auth: null })).status).toBe(200);
    expect((await pub.get('/api/v1/clients', { auth: null })).status).toBe(403);
  });
});

describe('admin API routes', () => {
  it('GET /api/v1/broker: version, times, listeners and limits, counters', async (ctx) => {
    const broker = brokerFor(ctx, { maxInflight: 7 });
    const listeners = [{ kind: 'tcp', name: 'tcp:1', address: '127.0.0.1', port: 1, url: 'mqtt://127.0.0.1:1' }];
    const admin = await adminFor(ctx, broker, { listeners });
    await connect(broker, { clientId: 'a' });
    const body = await json<BrokerView>(admin.get('/api/v1/broker'));
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.now).toBeGreaterThanOrEqual(body.startedAt);
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.listeners).toEqual([{ ...listeners[0], connections: 0 }]);
    expect(body.limits.maxInflight).toBe(7);
    expect(Object.keys(body.counters).sort()).toEqual(
      ['bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent', 'publishReceived', 'publishSent', 'publishDropped', 'clientsConnected', 'sessions', 'clientsMaximum', 'clientsExpired', 'retained', 'subscriptions', 'queueBytes'].sort(),
    );
    expect(body.counters.clientsConnected).toBe(1);
    expect(body.counters.packetsReceived).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/v1/clients and /clients/{id} (URL-encoded) describe connected clients; unknown ids are 404', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    const { client } = await connect(broker, { clientId: 'dev/1 ü', protocolVersion: 5, keepalive: 30, username: 'u' });
    await client.subscribe([{ topicFilter: 'a/#', qos: 1 }, { topicFilter: 'b', qos: 0 }] as never);
    const list = await json<ClientView[]>(admin.get('/api/v1/clients'));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ clientId: 'dev/1 ü', username: 'u', protocolVersion: 5, keepAlive: 30, subscriptions: 2, queued: 0, inflight: 0, listener: 'stream', transport: 'stream' });
    for (const key of ['address', 'port', 'connectedAt', 'buffered']) expect(list[0]).toHaveProperty(key);
    expect(list[0]!.connectedAt).toBeGreaterThan(0);
    const one = await json<ClientDetailView>(admin.get(`/api/v1/clients/${encodeURIComponent('dev/1 ü')}`));
    expect(one.subscriptionList).toEqual(expect.arrayContaining([{ topicFilter: 'a/#', qos: 1 }, { topicFilter: 'b', qos: 0 }]));
    const missing = await admin.get('/api/v1/clients/nobody');
    expect(missing.status).toBe(404);
    expect((await json<ErrorView>(missing)).error).toMatch(/nobody/);
    expect((await admin.get('/api/v1/clients/%E0%A4%A')).status).toBe(400);
  });

  it('DELETE /api/v1/clients/{id}: a 5.0 client gets DISCONNECT 0x98, a 3.1.1 one is closed and its will published; then 404', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    const { client: watcher } = await connect(broker, { clientId: 'watcher' });
    await watcher.subscribe('wills/#', 1);
    const { client: five } = await connect(broker, { clientId: 'five', protocolVersion: 5 });
    const { client: four } = await connect(broker, { clientId: 'four', will: { topic: 'wills/four', payload: Buffer.from('gone'), qos: 1, retain: false } } as never);

    expect((await admin.get('/api/v1/clients/five', { method: 'DELETE' })).status).toBe(204);
    const d = await five.expect('disconnect');
    expect(d.reasonCode).toBe(0x98);
    await five.expectClosed();

    expect((await admin.get('/api/v1/clients/four', { method: 'DELETE' })).status).toBe(204);
    await four.expectClosed();
    const will = await watcher.receive();
    expect(will.topic).toBe('wills/four');
    expect(will.payload.toString()).toBe('gone');

    expect((await admin.get('/api/v1/clients/five', { method: 'DELETE' })).status).toBe(404);
    expect((await admin.get('/api/v1/clients', { method: 'POST' })).status).toBe(405);
  });

  it('GET /api/v1/sessions lists offline sessions too', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    const { client } = await connect(broker, { clientId: 'away', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
    await client.subscribe('s/+', 1);
    await client.disconnect();
    await connect(broker, { clientId: 'here' });
    await until(() => broker.inspect.connectedCount() === 1);
    const sessions = await json<SessionView[]>(admin.get('/api/v1/sessions'));
    const away = sessions.find((s) => s.clientId === 'away');
    expect(away).toEqual({ clientId: 'away', connected: false, expiryInterval: 3600, expiresAt: expect.any(Number), subscriptions: [{ topicFilter: 's/+', qos: 1 }], queued: 0, inflight: 0, incomingQos2: 0, dropped: 0, willPending: false });
    expect(sessions.find((s) => s.clientId === 'here')).toMatchObject({ connected: true, expiresAt: null });
  });

  it('GET /api/v1/retained with a filter and a limit; a bad filter is 400', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    broker.publishMessage('r/a', 'alpha', { retain: true, qos: 1 });
    broker.publishMessage('r/b', Buffer.from([0xff, 0xfe]), { retain: true });
    broker.publishMessage('other', 'x', { retain: true });
    await until(() => broker.inspect.retainedCount() === 3);
    const list = await json<RetainedView[]>(admin.get('/api/v1/retained?filter=r%2F%23'));
    expect(list).toEqual([
      { topic: 'r/a', qos: 1, bytes: 5, payload: 'alpha', payloadBase64: Buffer.from('alpha').toString('base64') },
      { topic: 'r/b', qos: 0, bytes: 2, payload: null, payloadBase64: '//4=' },
    ]);
    const all = await admin.get('/api/v1/retained?limit=2');
    expect(await json<RetainedView[]>(all)).toHaveLength(2);
    expect(all.headers.get('x-truncated')).toBe('true');
    expect(all.headers.get('x-total-count')).toBe('3');
    const bad = await admin.get('/api/v1/retained?filter=a%2F%23%2Fb');
    expect(bad.status).toBe(400);
    expect((await json<ErrorView>(bad)).error).toMatch(/topic filter/);
    expect((await admin.get('/api/v1/retained?limit=0')).status).toBe(400);
  });

  it('DELETE /api/v1/retained: needs a filter; deletes without sending subscribers an empty message; a new subscriber gets none', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    broker.publishMessage('t/1', 'one', { retain: true });
    broker.publishMessage('t/2', 'two', { retain: true });
    broker.publishMessage('keep', 'k', { retain: true });
    const { client: sub } = await connect(broker, { clientId: 'sub' });
    await sub.subscribe('t/#');
    expect((await sub.receive()).retain).toBe(true);
    expect((await sub.receive()).retain).toBe(true);

    expect((await admin.get('/api/v1/retained', { method: 'DELETE' })).status).toBe(400);
    const res = await admin.get('/api/v1/retained?filter=t/%23', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect((await json<DeletedView>(res)).deleted.sort()).toEqual(['t/1', 't/2']);
    await sub.expectNothing(200);

    const { client: late } = await connect(broker, { clientId: 'late' });
    await late.subscribe('t/#');
    await late.expectNothing(200);
    expect(broker.inspect.retainedCount()).toBe(1);
  });

  it('GET /api/v1/rates: one-second samples of publishes, bytes and clients', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    await connect(broker, { clientId: 'p' });
    await until(() => broker.inspect.connectedCount() === 1);
    for (let i = 0; i < 5; i++) broker.publishMessage('x', 'y');
    await new Promise((r) => setTimeout(r, 1300));
    const body = await json<RatesView>(admin.get('/api/v1/rates'));
    expect(body.intervalMs).toBe(1000);
    expect(body.samples.length).toBeGreaterThanOrEqual(1);
    const s = body.samples.at(-1);
    expect(Object.keys(s ?? {}).sort()).toEqual(['bytesIn', 'bytesOut', 'clients', 'publishIn', 'publishOut', 't']);
    expect(s?.clients).toBe(1);
    expect(body.samples.some((x) => x.bytesIn > 0)).toBe(true);
  });

  it('answers unknown paths, bodies and odd methods with JSON errors', async (ctx) => {
    const broker = brokerFor(ctx);
    const admin = await adminFor(ctx, broker);
    const nf = await admin.get('/api/v1/nothing');
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toMatch(/application\/json/);
    expect((await admin.get('/nowhere')).status).toBe(404);
    expect((await admin.get('/api/v1/clients', { method: 'PUT', body: 'x' })).status).toBe(413);
    expect((await admin.get('/metrics', { method: 'DELETE' })).status).toBe(405);
    const head = await admin.get('/api/v1/clients', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
