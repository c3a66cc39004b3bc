/**
 * The test helpers against real mosquitto: startMosquitto() gives a broker that MQTT.js can
 * use, its extra config lines apply, and stop() really ends it. Later tests and benchmarks
 * compare our broker with mosquitto through these helpers, so they must be right.
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { killPeers, needPeers } from '../helpers/peers.js';
import { closeAll, openClient } from './mqttjs-client.js';

const gate = needPeers('mosquitto');

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe.skipIf(gate.skip)('test helpers against real mosquitto', () => {
  let mosquitto: RunningMosquitto | undefined;
  beforeEach(gate.check);
  afterEach(async () => {
    await closeAll();
    await mosquitto?.stop();
    mosquitto = undefined;
    await killPeers();
  });

  it.each([4, 5] as const)('MQTT.js v%i publishes and subscribes through mosquitto at QoS 1', async (protocolVersion) => {
    mosquitto = await startMosquitto();
    const sub = await openClient(mosquitto.url, { protocolVersion, clientId: `sanity-sub-${protocolVersion}` });
    await sub.client.subscribeAsync('sanity/#', { qos: 1 });
    const pub = await openClient(mosquitto.url, { protocolVersion });
    await pub.client.publishAsync('sanity/a', 'hello', { qos: 1 });
    const msg = await sub.next();
    expect(msg).toMatchObject({ topic: 'sanity/a', payload: 'hello' });
    expect(msg.packet.qos).toBe(1);
  });

  it('applies extra config lines and stops for good', async () => {
    mosquitto = await startMosquitto({ config: ['retain_available false', 'max_inflight_messages 1000'] });
    const { port } = mosquitto;
    const c = await openClient(mosquitto.url, { protocolVersion: 5 });
    // mosquitto tells a 5.0 client Retain Available 0 only when the config line took effect.
    expect(c.connack.properties?.retainAvailable).toBe(false);
    await c.end();
    await mosquitto.stop();
    expect(mosquitto.process.child.exitCode !== null || mosquitto.process.child.signalCode !== null).toBe(true);
    expect(await refused(port)).toBe(true);
  });
});
