export { Broker, createBroker, type CreateBrokerOptions, type LogLevel } from './broker.js';
export type { BrokerOptions } from './config.js';
export type { BrokerEvents } from './events.js';
export type { AcceptFn, AuthAnswer, AuthRequest, ClientInfo, Hooks, ListenerInfo, PublishTrace, RetainedStore, SubscriptionOptions, TransportInfo } from './types.js';
export type { Inspector, RetainedSnapshot, SessionSnapshot } from './inspect.js';
export type { ListenerKind, ListenerRecord, ListenerSpec, ListenOptions, TlsServerFiles } from './listeners/index.js';
export { Message } from './message.js';
