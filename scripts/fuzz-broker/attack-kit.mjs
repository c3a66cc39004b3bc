/**
 * What every attack shares: logging in as the fuzz user, watching each attacker connection
 * for messages it must never see, and judging what the broker answered.
 */
import { RawConn } from '../lib/raw-conn.mjs';

export const FUZZ_USER = 'fuzz';
export const FUZZ_PASSWORD = 'fuzz-password';
export const HONEST_USER = 'honest';
/** The broker's default time to send CONNECT (BrokerOptions.connectTimeoutMs; no CLI flag). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** What a CONNECT deadline may overrun on a busy 2-core machine before it counts as ignored. */
export const DEADLINE_SLACK_MS = 5000;
/** How long a protocol error may take to close its connection on a busy machine. */
export const PROTOCOL_ERROR_CLOSE_MS = 5000;

/**
 * A connection the attack opened, watched: a PUBLISH on a topic of the well-behaved clients
 * means the ACL let an attacker read what it may not; bytes our parser rejects mean the broker
 * wrote a malformed packet.
 */
export async function dial(ctx, version) {
  let conn;
  try {
    conn = await RawConn.dial(ctx.port, version);
  } catch {
    ctx.count('dial failed');
    return undefined;
  }
  ctx.track(conn);
  conn.onPacket = (p) => {
    if (p.type === 'publish' && p.topic.startsWith('honest/')) ctx.intrusion(`an attacker (fuzz user) received a message on ${p.topic}`);
    conn.inbox.push(p);
  };
  conn.closed.then(() => {
    if (conn.parseError !== undefined) ctx.anomaly(`broker sent bytes our parser rejects: ${conn.parseError.message}`);
  });
  return conn;
}

/** A valid CONNECT packet as the fuzz user (or `extra`'s overrides). */
export function connectPacket(ctx, version, extra = {}) {
  return {
    type: 'connect',
    protocolVersion: version,
    clean: true,
    keepalive: ctx.rng.pick([0, 30, 60]),
    clientId: ctx.nextClientId(),
    username: FUZZ_USER,
    password: Buffer.from(FUZZ_PASSWORD),
    ...extra,
  };
}

/**
 * Dials and logs in as the fuzz user; undefined (counted) when the broker did not accept.
 * A refusal is an anomaly unless `refusable` says why it may come (a will the ACL denies).
 */
export async function login(ctx, version = ctx.rng.pick([3, 4, 5]), extra = {}, refusable = undefined) {
  const conn = await dial(ctx, version);
  if (conn === undefined) return undefined;
  const connect = connectPacket(ctx, version, extra);
  conn.clientId = connect.clientId;
  conn.send(connect);
  const ack = await conn.next((p) => p.type === 'connack', 10_000);
  if (ack === undefined) {
    ctx.count(conn.isClosed ? 'closed before CONNACK' : 'no CONNACK in 10 s');
    conn.destroy();
    return undefined;
  }
  if (ack.reasonCode !== 0 && refusable !== undefined) {
    ctx.count(refusable);
    conn.destroy();
    return undefined;
  }
  if (ack.reasonCode !== 0) {
    ctx.anomaly(`a valid v${version} CONNECT as ${FUZZ_USER} was refused with ${ack.reasonCode}`);
    conn.destroy();
    return undefined;
  }
  return conn;
}

/** Closed by the broker within `ms` (a protocol error must close the connection), else an anomaly. */
export async function expectClose(ctx, conn, ms, what) {
  if (await conn.closedWithin(ms)) return true;
  if (!ctx.stopping()) ctx.anomaly(`${what}: connection still open after ${ms} ms`);
  conn.destroy();
  return false;
}

export const sub = (filter, qos = 0) => ({ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 });
