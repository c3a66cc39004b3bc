/**
 * Bridges: our broker connected to another MQTT broker as a client, forwarding topics out, in
 * or both ways (mosquitto's `connection` sections). The engine talks to our broker through a
 * connection of its own (broker.accept on an in-process pair), so the broker knows nothing of
 * bridges: its session queues QoS 1/2 messages for a remote that is down.
 */
import type { Broker, LogLevel } from '../broker/index.js';
import type { BridgeOptions, BridgeStatus } from './types.js';
import { BridgeEngine } from './engine.js';

export type { BridgeOptions, BridgeTopic, BridgeTls, BridgeStatus, BridgeDirection } from './types.js';

export interface Bridge {
  readonly name: string;
  status(): BridgeStatus;
  /** Stops reconnecting, publishes the '0' notification locally, closes both links. */
  close(): Promise<void>;
}

/** Starts one bridge: connects to the remote (reconnecting by options.restartTimeout) and forwards. */
export function startBridge(broker: Broker, options: BridgeOptions, log?: (level: LogLevel, message: string) => void): Bridge {
  return new BridgeEngine(broker, options, log ?? ((level, message) => broker.log(level, message)));
}
