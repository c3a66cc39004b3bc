/**
 * mosquitto_pub and mosquitto_sub (2.0), the tools most users test a broker with, through our
 * broker over TCP, MQTT 3.1.1 and 5.0. Each test has a broker of its own on a free port.
 * mosquitto_sub prints each message as `MSG <retain> <qos> <topic> <payload>` (-F), and with
 * -d its packet log, which tells us when the subscription stands and which acks flowed.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { killPeers, needPeers, peers, runPeer, spawnPeer, type PeerProcess } from '../helpers/peers.js';
import { brokerEvent, brokerPerTest } from '../helpers/start-broker.js';

const gate = needPeers('mosquitto-clients');

const VERSIONS = [
  ['3.1.1', 'mqttv311'],
  ['5.0', 'mqttv5'],
] as const;

describe.skipIf(gate.skip)('mosquitto_pub/mosquitto_sub through our broker', () => {
  beforeEach(gate.check);
  const server = brokerPerTest(killPeers);

  describe.each(VERSIONS)('MQTT %s', (_label, version) => {
    const common = (): string[] => ['-h', '127.0.0.1', '-p', String(server.port), '-V', version];

    /**
     * A mosquitto_sub, running until it exits by itself (-C, -E, -W) or is killed, and the
     * moment its subscription stands. That comes from the broker: mosquitto_sub's debug log
     * sits in its stdout buffer until it exits.
     */
    let subs = 0;
    function sub(args: string[], id = `interop-sub-${++subs}`): { p: PeerProcess; subscribed: Promise<unknown> } {
      const subscribed = brokerEvent(server.broker, 'subscribe', (client) => client.clientId === id);
      const p = spawnPeer(peers().mosquittoSub!, [...common(), '-i', id, '-d', '-F', 'MSG %r %q %t %p', ...args]);
      return { p, subscribed };
    }
    const messages = (p: PeerProcess): string[] => p.lines.filter((l) => l.startsWith('MSG '));

    async function pub(args: string[]): Promise<string> {
      const r = await runPeer(peers().mosquittoPub!, [...common(), '-d', ...args]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.stdout;
    }

    // [MQTT-7.0.0-2] (3.1.1): stock clients, using nothing outside the spec, interoperate with the broker.
    it.each([0, 1, 2])('QoS %i from mosquitto_pub reaches mosquitto_sub, with the complete ack flow', async (qos) => {
      const s = sub(['-t', 'interop/qos', '-q', String(qos), '-C', '1', '-W', '5']);
      await s.subscribed;
      const log = await pub(['-t', 'interop/qos', '-m', `hello ${qos}`, '-q', String(qos)]);
      expect((await s.p.waitForExit()).code).toBe(0);
      expect(messages(s.p)).toEqual([`MSG 0 ${qos} interop/qos hello ${qos}`]);
      // The publisher's side of the flow [MQTT-4.3.2-1] [MQTT-4.3.3-1]; the subscriber's side follows.
      if (qos === 1) expect(log).toMatch(/received PUBACK/);
      if (qos === 2) expect(log).toMatch(/received PUBREC[^]*sending PUBREL[^]*received PUBCOMP/);
      const subLog = s.p.stdout();
      expect(subLog).toMatch(/received SUBACK/);
      if (qos === 1) expect(subLog).toMatch(/received PUBLISH \(d0, q1[^]*sending PUBACK/);
      if (qos === 2) expect(subLog).toMatch(/received PUBLISH \(d0, q2[^]*sending PUBREC[^]*received PUBREL[^]*sending PUBCOMP/);
    });

    // [MQTT-3.3.1-5] [MQTT-3.3.1-9] stored, then sent to a later subscriber with the retain flag.
    it('keeps a retained message for a later subscriber, and deletes it on an empty payload', async () => {
      await pub(['-t', 'interop/retained', '-m', 'kept', '-q', '1', '-r']);
      const s = sub(['-t', 'interop/#', '-q', '1', '-C', '2', '-W', '5']);
      await s.subscribed;
      // [MQTT-3.3.1-9] to a subscription that already exists the retain flag is not set.
      await pub(['-t', 'interop/retained', '-m', 'live', '-q', '1', '-r']);
      expect((await s.p.waitForExit()).code).toBe(0);
      expect(messages(s.p)).toEqual(['MSG 1 1 interop/retained kept', 'MSG 0 1 interop/retained live']);
      // [MQTT-3.3.1-10] a retained message with an empty payload removes the stored one.
      await pub(['-t', 'interop/retained', '-n', '-r']);
      // A retained message would come first, before the marker published after subscribing.
      const later = sub(['-t', 'interop/#', '-q', '1', '-C', '1', '-W', '5']);
      await later.subscribed;
      await pub(['-t', 'interop/after', '-m', 'marker', '-q', '1']);
      expect((await later.p.waitForExit()).code).toBe(0);
      expect(messages(later.p)).toEqual(['MSG 0 1 interop/after marker']);
    });

    // [MQTT-3.1.2-8] a will is published when the connection ends without DISCONNECT, and
    // [MQTT-3.1.2-10] not when it ends with one.
    it('publishes the will of a mosquitto_sub killed with SIGKILL, not of one that disconnected', async () => {
      const watcher = sub(['-t', 'interop/will/#', '-q', '1', '-C', '1', '-W', '5']);
      await watcher.subscribed;
      const polite = sub(['-t', 'interop/other', '--will-topic', 'interop/will/polite', '--will-payload', 'no', '-E']);
      expect((await polite.p.waitForExit()).code).toBe(0);
      const victim = sub(['-t', 'interop/other', '--will-topic', 'interop/will/victim', '--will-payload', 'gone', '--will-qos', '1']);
      await victim.subscribed;
      await victim.p.kill('SIGKILL');
      expect((await watcher.p.waitForExit()).code).toBe(0);
      expect(messages(watcher.p)).toEqual(['MSG 0 1 interop/will/victim gone']);
    });

    // [MQTT-3.1.2-4] [MQTT-3.1.2-5] a persistent session keeps the subscription and queues
    // QoS 1 messages while its client is away; they arrive when it comes back.
    it('queues QoS 1 messages for a persistent session (-c -i) and delivers them on return', async () => {
      const id = `interop-persist-${version}`;
      const first = sub(['-c', '-q', '1', '-t', 'interop/queue', '-E'], id);
      expect((await first.p.waitForExit()).code).toBe(0);
      for (const m of ['one', 'two', 'three']) await pub(['-t', 'interop/queue', '-m', m, '-q', '1']);
      const back = sub(['-c', '-q', '1', '-t', 'interop/queue', '-C', '3', '-W', '5'], id);
      expect((await back.p.waitForExit()).code).toBe(0);
      expect(messages(back.p)).toEqual(['MSG 0 1 interop/queue one', 'MSG 0 1 interop/queue two', 'MSG 0 1 interop/queue three']);
    });
  });
});
