/**
 * The will of a client connected to a node, as kept in Redis for the node that publishes it
 * if that one dies: the will, who set it (as hooks see a client), and the node. JSON, with
 * binary fields (payload, correlation data) in base64: written once per connect with a will.
 */
import type { Will } from '../codec/types.js';
import type { ClientInfo } from '../broker/types.js';
import type { StoredClient } from '../store/types.js';

export interface WillRecord {
  readonly will: Will;
  readonly from: StoredClient;
  readonly node: string;
}

export function encodeWill(will: Will, client: ClientInfo, node: string): Buffer {
  const from: StoredClient = { clientId: client.clientId, protocolVersion: client.protocolVersion, username: client.username, remoteAddress: client.remoteAddress, ...(client.bridge === true ? { bridge: true } : {}) };
  return Buffer.from(JSON.stringify({ will, from, node }, (_k, v: unknown) => (isBufferJson(v) ? { $b: Buffer.from(v.data).toString('base64') } : v)));
}

/** Undefined for anything that is not a will record. */
export function decodeWill(buf: Buffer): WillRecord | undefined {
  try {
    const r = JSON.parse(buf.toString('utf8'), (_k, v: unknown) => (v !== null && typeof v === 'object' && typeof (v as { $b?: unknown }).$b === 'string' ? Buffer.from((v as { $b: string }).$b, 'base64') : v)) as WillRecord;
    if (typeof r?.will?.topic !== 'string' || !Buffer.isBuffer(r.will.payload) || typeof r.from?.clientId !== 'string' || typeof r.node !== 'string') return undefined;
    return r;
  } catch {
    return undefined;
  }
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}
