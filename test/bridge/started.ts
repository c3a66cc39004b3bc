/**
 * What a bridge test started, stopped after each test in one place (`afterEach(stopStarted)`):
 * MQTT.js clients first, then our brokers with their bridges, then the remotes, then any peer
 * process left over. setup.ts and remote.ts register what they start here.
 */
import { closeAll } from '../interop/mqttjs-client.js';
import { killPeers } from '../helpers/peers.js';

interface Stoppable {
  stop(): Promise<void>;
}

export const startedLocals = new Set<Stoppable>();
export const startedRemotes = new Set<{ dispose(): Promise<void> }>();

export async function stopStarted(): Promise<void> {
  await closeAll();
  for (const l of startedLocals) await l.stop();
  startedLocals.clear();
  for (const r of startedRemotes) await r.dispose();
  startedRemotes.clear();
  await killPeers();
}
