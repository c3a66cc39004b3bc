/**
 * A stand-in for `mqt broker --http-port`: the dashboard's files served the way the real
 * listener serves them (its StaticFiles, with its Content-Security-Policy), and the admin API's
 * contract over state the test sets. It exists to drive the page into states a real broker
 * reaches only with effort: a 401 in the middle of a session, a broker that is gone and comes
 * back, a list of odd topics. It counts the API calls so a test can see polling stop.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ClientView } from '../../src/core/admin/api-views.js';
import { StaticFiles } from '../../src/core/admin/static-files.js';
import { REPO_ROOT } from '../helpers/spawn-mqt.js';

export const DASHBOARD_DIR = join(REPO_ROOT, 'dashboard');

/** A client as GET /api/v1/clients lists it: the real API's own shape, so the fake cannot drift from it. */
export type FakeClient = ClientView;

export interface FakeRetained {
  topic: string;
  qos: number;
  bytes: number;
  payload: string | null;
  payloadBase64: string;
}

export interface FakeState {
  token: string;
  /** A password-file user with admin rights, for Basic credentials. */
  user: { name: string; password: string };
  clients: FakeClient[];
  retained: FakeRetained[];
  /** Answer every API call with 401 (the token was rotated). */
  rejectAll: boolean;
  /** Answer every API call with this status and a JSON error. */
  failWith: number | undefined;
}

export interface FakeAdmin {
  readonly url: string;
  readonly state: FakeState;
  /** API calls by path (`broker`, `clients`, …) since start. */
  readonly calls: Map<string, number>;
  /** Every Authorization header the API saw, and every request line (to check what reached the server). */
  readonly authorizations: string[];
  readonly requestLines: string[];
  /** Stops answering (connections refused) until resume(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export function retainedEntry(topic: string, payload: Buffer | string, qos = 0): FakeRetained {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  let text: string | null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  return { topic, qos, bytes: bytes.length, payload: text, payloadBase64: bytes.toString('base64') };
}

export function fakeClient(clientId: string, extra: Partial<FakeClient> = {}): FakeClient {
  return {
    clientId,
    username: null,
    address: '127.0.0.1',
    port: 50_000,
    listener: 'tcp',
    transport: 'tcp',
    protocolVersion: 5,
    keepAlive: 60,
    connectedAt: Date.now() - 90_000,
    subscriptions: 1,
    queued: 0,
    inflight: 0,
    buffered: 0,
    ...extra,
  };
}

/** A topic filter match, enough for the fake (the real broker has its own). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export async function startFakeAdmin(initial: Partial<FakeState> = {}): Promise<FakeAdmin> {
  const started = Date.now() - 3_725_000;
  const state: FakeState = { token: 'fake-token', user: { name: 'admin', password: 'pässwörd' }, clients: [], retained: [], rejectAll: false, failWith: undefined, ...initial };
  const calls = new Map<string, number>();
  const authorizations: string[] = [];
  const requestLines: string[] = [];
  const files = new StaticFiles(DASHBOARD_DIR);
  let published = 0;

  function rates(): unknown {
    const now = Date.now();
    const samples = [];
    // Ten minutes of a gentle wave, so the chart has something to draw.
    for (let i = 599; i >= 0; i--) {
      const t = Math.floor((now - i * 1000) / 1000) * 1000;
      const w = 40 + 30 * Math.sin(t / 20_000);
      samples.push({ t, publishIn: Math.round(w), publishOut: Math.round(w * 1.5), bytesIn: Math.round(w * 120), bytesOut: Math.round(w * 180), clients: state.clients.length });
    }
    return { intervalMs: 1000, samples };
  }

  function broker(port: number): unknown {
    const now = Date.now();
    published += 40;
    return {
      version: '0.1.0',
      startedAt: started,
      now,
      uptimeSeconds: Math.floor((now - started) / 1000),
      listeners: [
        { kind: 'tcp', name: 'tcp', address: '127.0.0.1', port: 1884, url: 'mqtt://127.0.0.1:1884', connections: state.clients.length },
        { kind: 'ws', name: 'ws', address: '127.0.0.1', port: 8080, url: 'ws://127.0.0.1:8080/mqtt', connections: 0 },
        { kind: 'http', name: 'http', address: '127.0.0.1', port, url: `http://127.0.0.1:${port}/`, connections: 1 },
      ],
      limits: { maxInflight: 20, maxQueued: 1000, maxPacketSize: 268_435_455, maxKeepalive: 65_535, maxConnections: 0, maxQueueMemory: 0, messageSizeLimit: 0, retainAvailable: true },
      counters: {
        bytesReceived: published * 120,
        bytesSent: published * 180,
        packetsReceived: published,
        packetsSent: published,
        publishReceived: published,
        publishSent: published,
        publishDropped: 0,
        clientsConnected: state.clients.length,
        sessions: state.clients.length,
        clientsMaximum: state.clients.length,
        clientsExpired: 0,
        retained: state.retained.length,
        subscriptions: state.clients.reduce((n, c) => n + c.subscriptions, 0),
        queueBytes: 0,
      },
    };
  }

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    requestLines.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/api/v1/')) {
      try {
        await files.serve(url.pathname, res);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    const path = url.pathname.slice('/api/v1/'.length);
    calls.set(path.split('/')[0]!, (calls.get(path.split('/')[0]!) ?? 0) + 1);
    const auth = req.headers.authorization ?? '';
    authorizations.push(auth);
    const basic = `Basic ${Buffer.from(`${state.user.name}:${state.user.password}`, 'utf8').toString('base64')}`;
    if (state.rejectAll || (auth !== `Bearer ${state.token}` && auth !== basic)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="mqt"', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'missing or wrong credentials' }));
      return;
    }
    if (state.failWith !== undefined) return json(res, state.failWith, { error: `fake failure ${state.failWith}` });
    if (req.method === 'GET' && path === 'broker') return json(res, 200, broker(port));
    if (req.method === 'GET' && path === 'rates') return json(res, 200, rates());
    if (req.method === 'GET' && path === 'clients') return json(res, 200, state.clients);
    if (req.method === 'GET' && path === 'sessions') return json(res, 200, []);
    if (req.method === 'GET' && path === 'retained') {
      const filter = url.searchParams.get('filter') ?? '#';
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      return json(res, 200, state.retained.filter((r) => matches(filter, r.topic)).slice(0, limit));
    }
    if (req.method === 'DELETE' && path.startsWith('clients/')) {
      const id = decodeURIComponent(path.slice('clients/'.length));
      const before = state.clients.length;
      state.clients = state.clients.filter((c) => c.clientId !== id);
      if (state.clients.length === before) return json(res, 404, { error: 'not connected' });
      res.writeHead(204).end();
      return;
    }
    json(res, 404, { error: 'no such route' });
  }

  let server: Server;
  let port = 0;
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = createServer((req, res) => {
        handle(req, res, port).catch((e: unknown) => {
          if (!res.headersSent) json(res, 500, { error: String(e) });
          else res.destroy();
        });
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const shut = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await open();

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    calls,
    authorizations,
    requestLines,
    pause: shut,
    resume: open,
    close: shut,
  };
}
