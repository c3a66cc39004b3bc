/**
 * Hooks decide; events observe. A hook is one awaited function with a default, and may
 * refuse or rewrite: the broker waits for it. Each may answer synchronously, which keeps the
 * PUBLISH path free of promises unless a user hook actually needs one.
 */
import { ReasonCode } from '../codec/constants.js';
import type { QoS } from '../codec/types.js';

export interface ClientInfo {
  readonly clientId: string;
  readonly protocolVersion: 3 | 4 | 5;
  readonly username: string | undefined;
  /** Remote address as the transport reports it. */
  readonly remoteAddress: string | undefined;
}

export type MaybePromise<T> = T | Promise<T>;

export interface Hooks {
  /**
   * Accepts or refuses a connection. Return true to accept, false for "bad user name or
   * password", or a 5.0 reason code (0x86 bad credentials, 0x87 not authorized, 0x8A banned, ...).
   */
  authenticate(client: ClientInfo, username: string | undefined, password: Buffer | undefined): MaybePromise<boolean | number>;
  /** Allows a client's PUBLISH to `topic`. Denied: PUBACK/PUBREC 0x87 in 5.0, silently dropped before. */
  authorizePublish(client: ClientInfo, topic: string, qos: QoS, retain: boolean): MaybePromise<boolean>;
  /** Grants a subscription at a QoS up to the requested one, or refuses it (false). */
  authorizeSubscribe(client: ClientInfo, topicFilter: string, qos: QoS): MaybePromise<QoS | false>;
}

export const defaultHooks: Hooks = {
  authenticate: () => true,
  // Clients may read $SYS but not write it: those topics are the broker's own (as aedes does).
  authorizePublish: (_client, topic) => !topic.startsWith('$SYS/') && topic !== '$SYS',
  authorizeSubscribe: (_client, _filter, qos) => qos,
};

/** Maps a hook's refusal to the CONNACK code for the client's protocol version. */
export function authenticateResult(result: boolean | number): number {
  if (result === true) return ReasonCode.Success;
  if (result === false) return ReasonCode.BadUserNameOrPassword;
  return result;
}

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}
