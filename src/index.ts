/**
 * The mqt library: what `import … from 'mqt'` gives. Only src/core is reachable from here, so
 * no CLI dependency (yargs, chalk, ora, inquirer) is ever loaded by a library user.
 */
export { encode, Parser, MqttError, ReasonCode, REASON_CODES, reasonCodeName, PacketType, PROPERTIES } from './core/codec/index.js';
export type {
  Packet,
  PacketName,
  ParserOptions,
  Properties,
  ProtocolVersion,
  QoS,
  Will,
  ConnectPacket,
  ConnackPacket,
  PublishPacket,
  PubackPacket,
  PubrecPacket,
  PubrelPacket,
  PubcompPacket,
  SubscribePacket,
  Subscription,
  SubackPacket,
  UnsubscribePacket,
  UnsubackPacket,
  PingreqPacket,
  PingrespPacket,
  DisconnectPacket,
  AuthPacket,
  PropertyInfo,
} from './core/codec/index.js';
export {
  validateTopicName,
  validateTopicFilter,
  isValidTopicName,
  isValidTopicFilter,
  parseSubscriptionFilter,
  topicMatches,
  TopicTrie,
  RetainedIndex,
} from './core/topic/index.js';
export { createBroker, Broker } from './core/broker/index.js';
export type { AuthAnswer, AuthRequest, BrokerOptions, CreateBrokerOptions, BrokerEvents, ClientInfo, Hooks, ListenOptions, PublishTrace } from './core/broker/index.js';
export { startBridge } from './core/bridge/index.js';
export type { Bridge, BridgeOptions, BridgeTopic, BridgeTls, BridgeStatus, BridgeDirection } from './core/bridge/index.js';
