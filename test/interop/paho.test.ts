/**
 * Python paho-mqtt (1.6, Debian's python3-paho-mqtt) through our broker, MQTT 3.1.1 and 5.0:
 * connect, publish/subscribe at QoS 0/1/2, retained messages and wills. Each scenario is one
 * run of the script below, which prints what paho saw as JSON lines and exits non-zero, with
 * an {"event": "error"} line, when something does not arrive in time.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { killPeers, needPeers, peers, runPeer } from '../helpers/peers.js';
import { brokerPerTest } from '../helpers/start-broker.js';

const gate = needPeers('paho');

const SCRIPT = String.raw`
import json, socket, sys, threading
import paho.mqtt.client as mqtt

scenario, version, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
V5 = version == '5'
TIMEOUT = 5.0

def out(**kw):
    print(json.dumps(kw), flush=True)

def fail(message):
    out(event='error', message=message)
    sys.exit(1)

def code(rc):
    return rc.value if hasattr(rc, 'value') else rc

class Peer:
    def __init__(self, client_id, will=None):
        if V5:
            self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        else:
            self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True, reconnect_on_failure=False)
        self.name = client_id or '(empty id)'
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.granted = None
        self.c.on_connect = self.on_connect
        self.c.on_subscribe = self.on_subscribe
        self.c.on_message = self.on_message
        if will is not None:
            self.c.will_set(*will)

    def on_connect(self, c, userdata, flags, rc, properties=None):
        self.connack = {'rc': code(rc), 'sessionPresent': bool(flags.get('session present'))}
        if properties is not None:
            self.connack['properties'] = properties.json()
        self.connected.set()

    def on_subscribe(self, c, userdata, mid, granted, properties=None):
        self.granted = [code(g) for g in granted]
        self.subscribed.set()

    def on_message(self, c, userdata, m):
        with self.cond:
            self.messages.append({'topic': m.topic, 'payload': m.payload.decode(), 'qos': m.qos, 'retain': bool(m.retain)})
            self.cond.notify_all()

    def connect(self):
        self.c.connect('127.0.0.1', port, keepalive=30)
        self.c.loop_start()
        if not self.connected.wait(TIMEOUT):
            fail('%s: no CONNACK' % self.name)
        return self

    def subscribe(self, topic, qos):
        self.subscribed.clear()
        self.c.subscribe(topic, qos)
        if not self.subscribed.wait(TIMEOUT):
            fail('%s: no SUBACK for %s' % (self.name, topic))
        return self.granted

    def publish(self, topic, payload, qos, retain=False):
        info = self.c.publish(topic, payload, qos, retain)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            fail('%s: publish of %s at QoS %d not completed' % (self.name, topic, qos))

    def wait_messages(self, n):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.messages) >= n, TIMEOUT):
                fail('%s: got %d of %d messages: %s' % (self.name, len(self.messages), n, json.dumps(self.messages)))
        return self.messages

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def crash(self):
        # The connection ends without DISCONNECT, as when the process dies (no reconnect:
        # reconnect_on_failure is off, so the network thread just ends).
        s = self.c.socket()
        s.shutdown(socket.SHUT_RDWR)
        s.close()

if scenario == 'connect':
    p = Peer('').connect()
    out(event='connack', **p.connack)
    p.disconnect()
elif scenario == 'pubsub':
    sub = Peer('paho-sub').connect()
    out(event='suback', granted=sub.subscribe('paho/#', 2))
    pub = Peer('paho-pub').connect()
    for qos in (0, 1, 2):
        pub.publish('paho/q%d' % qos, 'message %d' % qos, qos)
    out(event='messages', messages=sub.wait_messages(3))
elif scenario == 'retained':
    pub = Peer('paho-pub').connect()
    pub.publish('paho/retained', 'kept', 1, True)
    sub = Peer('paho-sub').connect()
    sub.subscribe('paho/#', 1)
    pub.publish('paho/live', 'live', 1, True)
    out(event='messages', messages=sub.wait_messages(2))
elif scenario == 'will':
    watcher = Peer('paho-watcher').connect()
    watcher.subscribe('paho/will/#', 1)
    Peer('paho-polite', will=('paho/will/polite', 'no', 1, False)).connect().disconnect()
    Peer('paho-victim', will=('paho/will/victim', 'gone', 1, False)).connect().crash()
    out(event='messages', messages=watcher.wait_messages(1))
else:
    fail('unknown scenario ' + scenario)
`;

interface Line {
  event: string;
  [key: string]: unknown;
}

describe.skipIf(gate.skip)('Python paho-mqtt through our broker', () => {
  beforeEach(gate.check);
  const server = brokerPerTest(killPeers);

  /** Runs one scenario of SCRIPT; returns its JSON lines by event. */
  async function paho(scenario: string, version: '3.1.1' | '5'): Promise<Record<string, Line>> {
    const r = await runPeer(peers().python!, ['-c', SCRIPT, scenario, version === '5' ? '5' : '4', String(server.port)]);
    const lines = r.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
    expect(r.code, `paho ${scenario} ${version}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    return Object.fromEntries(lines.map((l) => [l.event, l]));
  }

  describe.each(['3.1.1', '5'] as const)('MQTT %s', (version) => {
    // CONNACK accepted; an empty client id is assigned one [MQTT-3.1.3-6],
    // which 5.0 returns as Assigned Client Identifier.
    it('connects with an empty client id', async () => {
      const { connack } = await paho('connect', version);
      expect(connack).toMatchObject({ rc: 0, sessionPresent: false });
      if (version === '5') {
        expect(connack!.properties).toMatchObject({ RetainAvailable: 1, SharedSubscriptionAvailable: 1 });
        expect((connack!.properties as Record<string, unknown>).AssignedClientIdentifier).toMatch(/^mqt-/);
      }
    });

    it('publishes and subscribes at QoS 0, 1 and 2', async () => {
      const out = await paho('pubsub', version);
      expect(out.suback!.granted).toEqual([2]);
      expect(out.messages!.messages).toEqual([
        { topic: 'paho/q0', payload: 'message 0', qos: 0, retain: false },
        { topic: 'paho/q1', payload: 'message 1', qos: 1, retain: false },
        { topic: 'paho/q2', payload: 'message 2', qos: 2, retain: false },
      ]);
    });

    // [MQTT-3.3.1-9] retained on subscribe with the flag set; not on a live message.
    it('retained messages', async () => {
      const out = await paho('retained', version);
      expect(out.messages!.messages).toEqual([
        { topic: 'paho/retained', payload: 'kept', qos: 1, retain: true },
        { topic: 'paho/live', payload: 'live', qos: 1, retain: false },
      ]);
      expect(server.broker.inspect.retained('paho/live')?.payload.toString()).toBe('live');
    });

    // [MQTT-3.1.2-8] the will of a connection closed without DISCONNECT; [MQTT-3.1.2-10] none after one.
    it('will', async () => {
      const out = await paho('will', version);
      expect(out.messages!.messages).toEqual([{ topic: 'paho/will/victim', payload: 'gone', qos: 1, retain: false }]);
    });
  });
});
