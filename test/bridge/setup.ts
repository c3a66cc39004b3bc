/** What the bridge tests share: options with mosquitto's defaults, our broker on a port, waits. */
import type { MqttClient } from 'mqtt';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../src/core/broker/index.js';
import { startBridge, type Bridge, type BridgeOptions } from '../../src/core/bridge/index.js';
import { startedLocals } from './started.js';

export function bridgeOptions(port: number, over: Partial<BridgeOptions> = {}): BridgeOptions {
  return {
    name: 'b1',
    addresses: [{ host: '127.0.0.1', port }],
    topics: [],
    remoteClientId: 'mqt.b1',
    localClientId: 'local.mqt.b1',
    cleanSession: false,
    localCleanSession: false,
    protocolVersion: 4,
    keepalive: 60,
    restartTimeout: { base: 1 },
    tryPrivate: true,
    notifications: false,
    notificationsLocalOnly: false,
    notificationTopic: '$SYS/broker/connection/mqt.b1/state',
    startType: 'automatic',
    outgoingRetain: true,
    maxPacketSize: 0,
    roundRobin: false,
    ...over,
  };
}

export interface Local {
  broker: Broker;
  url: string;
  lines: string[];
  bridges: Bridge[];
  bridge(options: BridgeOptions): Bridge;
  stop(): Promise<void>;
}

/** Our broker on a free TCP port, collecting its bridges' log lines; stopStarted() stops it. */
export async function localBroker(options: CreateBrokerOptions = {}): Promise<Local> {
  const lines: string[] = [];
  const broker = createBroker(options);
  const [l] = await broker.listen({ port: 0, host: '127.0.0.1' });
  const bridges: Bridge[] = [];
  const local: Local = {
    broker,
    url: `mqtt://127.0.0.1:${l!.port}`,
    lines,
    bridges,
    bridge(o) {
      const b = startBridge(broker, o, (level, m) => lines.push(`${level}: ${m}`));
      bridges.push(b);
      return b;
    },
    async stop() {
      startedLocals.delete(local);
      for (const b of bridges) await b.close();
      await broker.close();
    },
  };
  startedLocals.add(local);
  return local;
}

/** Waits until `check` is true, polling; fails with `what` (and its last value) after timeoutMs. */
export async function until(check: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Publishes payloads `${from}`…`${from + n - 1}` to `topic`, ten in flight at a time: MQTT.js
 * firing hundreds of QoS 1/2 publishes at mosquitto 2.0.11 at once leaves some stuck there
 * (seen without any bridge), so the tests pace their publishers.
 */
export async function publishAll(client: MqttClient, topic: string, n: number, qos: 0 | 1 | 2, from = 0): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const batch: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(n, i + 10); k++) batch.push(client.publishAsync(topic, `${from + k}`, { qos }));
    await Promise.all(batch);
  }
}
