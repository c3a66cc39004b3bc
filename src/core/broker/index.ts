export { Broker, createBroker, type CreateBrokerOptions, type LogLevel } from './broker.js';
export type { BrokerOptions } from './config.js';
export type { BrokerEvents } from './events.js';
export type { ClientInfo, Hooks } from './hooks.js';
export type { ListenOptions } from './listeners/index.js';
export { Message } from './message.js';
