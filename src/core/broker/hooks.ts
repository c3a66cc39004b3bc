/**
 * Hooks decide; events observe. A hook is one awaited function with a default, and may
 * refuse or rewrite: the broker waits for it. Each may answer synchronously, which keeps the
 * PUBLISH path free of promises unless a user hook actually needs one.
 */
import { ReasonCode } from '../codec/constants.js';
import { sysAllowsPublish } from '../topic/sys.js';
import type { Hooks, MaybePromise } from './types.js';

export type { AuthAnswer, AuthRequest, ClientInfo, Hooks, MaybePromise } from './types.js';

export const defaultHooks: Hooks = {
  authenticate: () => true,
  // Clients may read $SYS but not write it: those topics are the broker's own (as mosquitto and
  // aedes); only a bridge may publish its state under $SYS/broker/connection/ (topic/sys.ts).
  authorizePublish: (client, topic) => sysAllowsPublish(topic, client.bridge, client.clientId),
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
