/**
 * `--cluster URL [--node-id NAME]` (or the file's `cluster` and `node_id`): which Redis the
 * node joins and under what name, checked here so a typo is a one-line error before anything
 * starts. Pure.
 */
import { hostname } from 'node:os';

export interface ClusterPlan {
  /** redis://HOST:PORT[/DB] or rediss://… as given (the password, if any, stays in it). */
  url: string;
  nodeId: string;
}

const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The plan, or undefined without a cluster; throws an Error with a one-line message on bad input. */
export function planCluster(url: string | undefined, nodeId: string | undefined, persistence: string | undefined, pid = process.pid): ClusterPlan | undefined {
  if (url === undefined) {
    if (nodeId !== undefined) throw new Error('node_id (--node-id) needs a cluster (--cluster redis://HOST:PORT): it names this node in one');
    return undefined;
  }
  checkUrl(url);
  if (persistence !== undefined) throw new Error('--cluster and --persistence cannot be combined: a cluster keeps its sessions and retained messages in Redis; drop --persistence');
  const id = nodeId ?? defaultNodeId(pid);
  if (!NODE_ID.test(id)) throw new Error(`--node-id must be 1 to 64 letters, digits or _ . : -, got ${JSON.stringify(id)}`);
  return { url, nodeId: id };
}

/** `<hostname>-<pid>`, with what a node id may not hold replaced. */
export function defaultNodeId(pid = process.pid): string {
  const host = hostname().replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 50) || 'node';
  return `${host}-${pid}`;
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--cluster needs a Redis URL such as redis://127.0.0.1:6379, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--cluster needs a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  if (u.hostname === '') throw new Error(`--cluster needs a host in the URL, as in redis://127.0.0.1:6379, got ${JSON.stringify(url)}`);
  // URL() has checked the port is 0..65535; 0 cannot be connected to.
  if (u.port === '0') throw new Error(`--cluster: port 0 cannot be connected to, got ${JSON.stringify(url)}`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new Error(`--cluster: the database after the port must be a number (0-15), got ${JSON.stringify(u.pathname)}`);
  if (db !== '' && Number(db) > 15) throw new Error(`--cluster: the database must be 0-15 (Redis has 16 by default), got ${db}`);
}
