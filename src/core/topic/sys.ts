/**
 * `$SYS` is the broker's own: clients may read it, never write it (as mosquitto's
 * acl__check_dollar), with two exceptions for a bridge's notification of its own state
 * ('1' up, '0' as its will):
 * - a client that connected with the bridge bit may publish anywhere under `$SYS/broker/connection/`
 *   (a notification_topic of its choosing there);
 * - any client may publish `$SYS/broker/connection/<its own client id>/state`, mosquitto's default
 *   notification topic, because mosquitto sends no bridge bit over MQTT 5 and a 5.0 bridge
 *   would otherwise be refused at CONNECT for its will. Only its own id: no client can speak
 *   for another's connection.
 * mosquitto lets any client write `$SYS/broker/connection/+/state`; this is narrower. Hooks and
 * ACLs still judge what it lets through.
 */

/** Where bridges publish their state (mosquitto's notification_topic default lives under it). */
export const BRIDGE_NOTIFICATION_PREFIX = '$SYS/broker/connection/';

/** `$SYS` itself or a topic under it. */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS') && (topic.length === 4 || topic.charCodeAt(4) === 0x2f);
}

/**
 * Whether the `$SYS` rule lets a client publish (or leave a will) on `topic`: any topic outside
 * `$SYS`; inside it only a bridge's notifications (above). One character test for an ordinary topic.
 */
export function sysAllowsPublish(topic: string, bridge: boolean | undefined, clientId: string): boolean {
  if (topic.charCodeAt(0) !== 0x24 || !isSysTopic(topic)) return true;
  if (topic.length <= BRIDGE_NOTIFICATION_PREFIX.length || !topic.startsWith(BRIDGE_NOTIFICATION_PREFIX)) return false;
  return bridge === true || isOwnStateTopic(topic, clientId);
}

/** `$SYS/broker/connection/<clientId>/state`, compared without building the string. */
function isOwnStateTopic(topic: string, clientId: string): boolean {
  const p = BRIDGE_NOTIFICATION_PREFIX.length;
  return clientId !== '' && topic.length === p + clientId.length + STATE.length && topic.startsWith(clientId, p) && topic.endsWith(STATE);
}

const STATE = '/state';
