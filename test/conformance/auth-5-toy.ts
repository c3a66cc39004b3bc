/**
 * A toy challenge-response method for the auth-5-* tests, in the shape of SCRAM: the client
 * names itself in CONNECT (or AUTH 0x19), the server answers AUTH 0x18 with a nonce, the client
 * proves it knows its secret with `${nonce}:${secret}` in AUTH 0x18, the server says welcome.
 * Every request the hook is asked is logged, so a test can say which steps ran.
 */
import type { AuthAnswer, AuthRequest, ClientInfo } from '../../src/core/broker/types.js';
import type { AuthPacket, ConnectPacket, Packet } from '../../src/core/codec/types.js';
import type { TestClient } from '../helpers/broker-client.js';

export const METHOD = 'TOY-CHALLENGE';
export const SECRETS: Record<string, string> = { alice: 'wonderland', bob: 'builder' };

export interface ToyHook {
  (client: ClientInfo, request: AuthRequest): AuthAnswer;
  readonly asked: { clientId: string; step: AuthRequest['step']; data: string | undefined; state: unknown }[];
}

/** The server's side of the toy method; any other method is 0x8C Bad authentication method. */
export function toyHook(): ToyHook {
  let n = 0;
  const asked: ToyHook['asked'] = [];
  const hook = (client: ClientInfo, request: AuthRequest): AuthAnswer => {
    asked.push({ clientId: client.clientId, step: request.step, data: request.data?.toString(), state: request.state });
    if (request.method !== METHOD) return { reasonCode: 0x8c };
    if (request.step !== 'continue') {
      const user = request.data?.toString() ?? '';
      if (SECRETS[user] === undefined) return { reasonCode: 0x86, reasonString: `no user ${user}` };
      const nonce = `nonce-${++n}`;
      return { reasonCode: 0x18, data: Buffer.from(nonce), state: { user, nonce } };
    }
    const { user, nonce } = request.state as { user: string; nonce: string };
    if (request.data?.toString() !== `${nonce}:${SECRETS[user]}`) return { reasonCode: 0x86, reasonString: 'wrong proof' };
    return { reasonCode: 0x00, data: Buffer.from(`welcome ${user}`), username: user };
  };
  return Object.assign(hook, { asked });
}

/** A 5.0 CONNECT naming the toy method for `user`. */
export function toyConnect(user: string, extra: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    type: 'connect',
    protocolVersion: 5,
    clean: true,
    keepalive: 0,
    clientId: `c-${user}`,
    ...extra,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(user), ...extra.properties },
  };
}

/** The client's answer to a challenge: AUTH 0x18 with the proof. */
export function proof(challenge: AuthPacket, user: string, method = METHOD): AuthPacket {
  const nonce = challenge.properties?.authenticationData?.toString() ?? '';
  return { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: Buffer.from(`${nonce}:${SECRETS[user] ?? 'none'}`) } };
}

/** Every packet until the connection closes (bounded), for rules about what was sent at all. */
export async function drain(client: TestClient, timeoutMs = 2000): Promise<Packet[]> {
  const got: Packet[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      got.push(await client.next(Math.max(1, deadline - Date.now())));
    } catch (err) {
      if (client.closed) return got;
      throw err;
    }
  }
}

/** A promise and its resolvers, for hooks that answer when the test says. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
