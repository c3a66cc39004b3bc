/**
 * The admin API under /api/v1/: which method and path does what. Credentials are checked by
 * the server before any of these run; each route reads the broker through broker.inspect and
 * acts through broker.kick and broker.deleteRetained only.
 */
import type { ServerResponse } from 'node:http';
import type { Broker } from '../broker/broker.js';
import { isValidTopicFilter } from '../topic/validate.js';
import { brokerView, clientView, retainedView, sessionView, type ClientDetailView, type DeletedView, type RatesView } from './api-views.js';
import type { AdminListener } from './metrics.js';
import type { RateSampler } from './rates.js';
import { HttpError, sendEmpty, sendJson } from './respond.js';

export interface ApiContext {
  readonly broker: Broker;
  readonly listeners: () => readonly AdminListener[];
  readonly rates: RateSampler;
  readonly version: string;
}

/** Retained messages listed at most, unless ?limit= says otherwise. */
export const RETAINED_LIMIT = 1000;
const RETAINED_LIMIT_MAX = 100_000;

/** The methods each path takes (HEAD wherever GET), for 405's Allow header. */
function allowed(path: string): string[] | undefined {
  if (path === 'broker' || path === 'rates' || path === 'clients' || path === 'sessions') return ['GET', 'HEAD'];
  if (path === 'retained' || path.startsWith('clients/')) return ['GET', 'HEAD', 'DELETE'];
  return undefined;
}

/** Answers `method` on /api/v1/`path`; throws HttpError for 400/404/405. */
export async function handleApi(ctx: ApiContext, method: string, path: string, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const methods = allowed(path);
  if (methods === undefined) throw new HttpError(404, `no such API route: /api/v1/${path}`);
  if (!methods.includes(method)) throw new HttpError(405, `${method} is not allowed on /api/v1/${path}; use ${methods.join(', ')}`, { Allow: methods.join(', ') });
  const get = method === 'GET' || method === 'HEAD';
  const { broker } = ctx;
  switch (path) {
    case 'broker': {
      const view = brokerView(broker, ctx.listeners(), ctx.version);
      const ops = broker.clusterOperations;
      return sendJson(res, 200, ops === undefined ? view : { ...view, cluster: { nodeId: ops.nodeId, nodes: ops.nodes() } });
    }
    case 'rates':
      return sendJson(res, 200, { intervalMs: ctx.rates.intervalMs, samples: ctx.rates.samples() } satisfies RatesView);
    case 'clients': {
      const ops = broker.clusterOperations;
      if (ops === undefined) return sendJson(res, 200, broker.inspect.clients().map(clientView));
      // A cluster node lists every node's clients; nodes that did not answer are named in a header.
      const { clients, missing } = await ops.clients();
      if (missing.length > 0) res.setHeader('X-Mqt-Partial', missing.join(','));
      return sendJson(res, 200, clients.map((c) => ({ ...clientView(c), node: c.node })));
    }
    case 'sessions':
      return sendJson(res, 200, broker.inspect.sessions().map(sessionView));
    case 'retained':
      return get ? listRetained(ctx, query, res) : deleteRetained(ctx, query, res);
  }
  const id = clientIdOf(path);
  const ops = broker.clusterOperations;
  if (get) {
    const client = broker.inspect.client(id);
    if ((client === undefined || !client.connected) && ops !== undefined) {
      const found = (await ops.clients()).clients.find((c) => c.clientId === id);
      if (found !== undefined) return sendJson(res, 200, { ...clientView(found), node: found.node, subscriptionList: [] });
    }
    if (client === undefined || !client.connected) throw new HttpError(404, `no client ${JSON.stringify(id)} is connected`);
    const subscriptionList = (broker.inspect.session(id)?.subscriptions ?? []).map((s) => ({ topicFilter: s.topicFilter, qos: s.qos }));
    return sendJson(res, 200, { ...clientView(client), subscriptionList } satisfies ClientDetailView);
  }
  const kicked = ops === undefined ? broker.kick(id) : await ops.kick(id);
  if (!kicked) throw new HttpError(404, `no client ${JSON.stringify(id)} is connected`);
  sendEmpty(res, 204);
}

/** The client id of `clients/{id}`: one path segment, URL-encoded (a `/` in an id is %2F). */
function clientIdOf(path: string): string {
  const raw = path.slice('clients/'.length);
  if (raw === '' || raw.includes('/')) throw new HttpError(404, 'expected /api/v1/clients/{id} with the id URL-encoded');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'the client id is not valid URL encoding');
  }
}

function filterOf(query: URLSearchParams, required: boolean): string {
  const filter = query.get('filter');
  if (filter === null) {
    if (required) throw new HttpError(400, 'DELETE /api/v1/retained needs ?filter= (a topic filter; # for all)');
    return '#';
  }
  if (!isValidTopicFilter(filter)) throw new HttpError(400, `not a valid topic filter: ${JSON.stringify(filter)}`);
  return filter;
}

async function listRetained(ctx: ApiContext, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const filter = filterOf(query, false);
  const limitText = query.get('limit');
  let limit = RETAINED_LIMIT;
  if (limitText !== null) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > RETAINED_LIMIT_MAX) throw new HttpError(400, `limit must be a whole number from 1 to ${RETAINED_LIMIT_MAX}, got ${JSON.stringify(limitText)}`);
  }
  const all = await ctx.broker.inspect.retainedMatching(filter);
  all.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  const cut = all.length > limit;
  // The body stays a plain array (the contract); whether it was cut is said in headers.
  sendJson(res, 200, all.slice(0, limit).map(retainedView), { 'X-Total-Count': String(all.length), 'X-Truncated': cut ? 'true' : 'false' });
}

async function deleteRetained(ctx: ApiContext, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const filter = filterOf(query, true);
  const deleted = await ctx.broker.deleteRetained(filter);
  sendJson(res, 200, { deleted } satisfies DeletedView);
}
