/**
 * A real mosquitto 2.0 bridging into our broker with a default `connection` section: try_private
 * on (the bridge bit, 0x84), notifications on. It connects; a message published on either side
 * arrives on the other exactly once (our broker does not send the bridge its own messages back,
 * as mosquitto would not); its state appears retained at `$SYS/broker/connection/<id>/state`:
 * '1' while up, '0' (its will) once it is gone. Into `mqt broker` too. A 5.0 mosquitto bridge
 * sends no bridge bit (2.0.11: level 0x05), so it is an ordinary client here: it may still write
 * its own state topic ($SYS/broker/connection/<its id>/state), and No Local keeps it loop-free.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/index.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../helpers/mosquitto.js';
import { cleanUpMqt, startMqt } from '../helpers/mqt-process.js';
import { killPeers, needPeers } from '../helpers/peers.js';
import { closeAll, openClient, type TestClient } from './mqttjs-client.js';

const gate = needPeers('mosquitto');
const STATE = '$SYS/broker/connection/mosq.b1/state';

/** Waits for `check`, polling; fails naming `what` after timeoutMs. */
async function until(check: () => boolean, what: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(gate.skip)('mosquitto bridging into our broker (try_private, notifications: its defaults)', () => {
  let broker: Broker | undefined;
  let mosquitto: RunningMosquitto | undefined;
  const connects: string[] = [];
  beforeEach(gate.check);
  afterEach(async () => {
    await closeAll();
    await mosquitto?.stop();
    await broker?.close();
    mosquitto = undefined;
    broker = undefined;
    connects.length = 0;
    cleanUpMqt();
    await killPeers();
  });

  /** Our broker on a free port, noting who connects and with which protocol level. */
  async function ours(): Promise<string> {
    broker = createBroker();
    broker.on('client', (c) => connects.push(`${c.clientId} v${c.protocolVersion}${c.bridge === true ? ' bridge' : ''}`));
    const [l] = await broker.listen({ port: 0, host: '127.0.0.1' });
    return `127.0.0.1:${l!.port}`;
  }

  /** mosquitto with one `connection` section into `address`; `extra`: its topic line and any others. */
  async function bridgeIn(address: string, extra: string): Promise<RunningMosquitto> {
    mosquitto = await startMosquitto({
      config: [
        'log_type information',
        'connection mqt',
        `address ${address}`,
        'remote_clientid mosq.b1',
        'cleansession true',
        'restart_timeout 1',
        extra,
      ],
    });
    return mosquitto;
  }

  const topicsSeen = (c: TestClient): string => JSON.stringify(c.messages.map((m) => `${m.topic}=${m.payload}`));

  it.each([
    ['topic # both 1', '', '', '#', 1],
    ['topic p/# both 2 here/ there/', 'here/', 'there/', 'there/p/#', 2],
  ] as const)('%s: connects with the bridge bit, each side gets the other’s message once, no loop', async (line, mosqPrefix, ourPrefix, filter, qos) => {
    const address = await ours();
    const m = await bridgeIn(address, line);
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '1', () => `the bridge's retained state '1' on our broker; connects ${JSON.stringify(connects)}; mosquitto:\n${m.log()}`);
    expect(connects).toContain('mosq.b1 v4 bridge');
    await until(() => (broker!.inspect.session('mosq.b1')?.subscriptions.length ?? 0) > 0, () => `mosquitto's subscription on our broker; mosquitto:\n${m.log()}`);
    expect(broker!.inspect.session('mosq.b1')?.subscriptions).toEqual([expect.objectContaining({ topicFilter: filter, noLocal: true, retainAsPublished: true })]);

    const atMosq = await openClient(m.url, { protocolVersion: 4, clientId: 'at-mosq' });
    const atOurs = await openClient(`mqtt://${address}`, { protocolVersion: 5, clientId: 'at-ours' });
    await atMosq.client.subscribeAsync(`${mosqPrefix}p/#`, { qos });
    await atOurs.client.subscribeAsync(`${ourPrefix}p/#`, { qos });
    await atMosq.client.publishAsync(`${mosqPrefix}p/from-mosquitto`, 'm', { qos });
    await atOurs.client.publishAsync(`${ourPrefix}p/from-ours`, 'o', { qos });
    await until(() => atMosq.messages.length >= 2 && atOurs.messages.length >= 2, () => `both messages on both sides: mosquitto side ${topicsSeen(atMosq)}, our side ${topicsSeen(atOurs)}`);
    // A loop would bring each message back around: wait, then count exactly.
    await new Promise((r) => setTimeout(r, 500));
    expect(atMosq.messages.map((x) => `${x.topic}=${x.payload}`).sort()).toEqual([`${mosqPrefix}p/from-mosquitto=m`, `${mosqPrefix}p/from-ours=o`]);
    expect(atOurs.messages.map((x) => `${x.topic}=${x.payload}`).sort()).toEqual([`${ourPrefix}p/from-mosquitto=m`, `${ourPrefix}p/from-ours=o`]);
  });

  // mosquitto 2.0.11 sends no bridge bit on a 5.0 bridge (level 0x05; it would accept 0x85 as a
  // remote), so here it is an ordinary client and its notification will on $SYS is refused: with
  // bridge_protocol_version mqttv50 it needs notifications_local_only true (or notifications false).
  it('a 5.0 bridge (bridge_protocol_version mqttv50, notifications local only) connects as an ordinary 5.0 client; No Local keeps it loop-free', async () => {
    const address = await ours();
    const m = await bridgeIn(address, 'topic # both 1\nbridge_protocol_version mqttv50\nnotifications_local_only true');
    await until(() => connects.includes('mosq.b1 v5'), () => `mosquitto to connect; connects ${JSON.stringify(connects)}; mosquitto:\n${m.log()}`);
    expect(broker!.inspect.retained(STATE)).toBeUndefined();
    const atMosq = await openClient(m.url, { protocolVersion: 4, clientId: 'at-mosq' });
    const atOurs = await openClient(`mqtt://${address}`, { protocolVersion: 5, clientId: 'at-ours' });
    await until(() => (broker!.inspect.session('mosq.b1')?.subscriptions.length ?? 0) > 0, () => `mosquitto's subscription on our broker; mosquitto:\n${m.log()}`);
    await atMosq.client.subscribeAsync('p/#', { qos: 1 });
    await atOurs.client.subscribeAsync('p/#', { qos: 1 });
    await atMosq.client.publishAsync('p/from-mosquitto', 'm', { qos: 1 });
    await atOurs.client.publishAsync('p/from-ours', 'o', { qos: 1 });
    await until(() => atMosq.messages.length >= 2 && atOurs.messages.length >= 2, () => `both messages on both sides: mosquitto side ${topicsSeen(atMosq)}, our side ${topicsSeen(atOurs)}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(atMosq.messages.map((x) => x.topic).sort()).toEqual(['p/from-mosquitto', 'p/from-ours']);
    expect(atOurs.messages.map((x) => x.topic).sort()).toEqual(['p/from-mosquitto', 'p/from-ours']);
    expect(broker!.inspect.session('mosq.b1')?.subscriptions).toEqual([expect.objectContaining({ topicFilter: '#', noLocal: true, retainAsPublished: true })]);
  });

  it('a 5.0 bridge with its default notifications connects: it may write its own state topic, no bridge bit needed', async () => {
    const address = await ours();
    const m = await bridgeIn(address, 'topic # both 1\nbridge_protocol_version mqttv50');
    await until(() => connects.includes('mosq.b1 v5'), () => `mosquitto to connect; connects ${JSON.stringify(connects)}; mosquitto:\n${m.log()}`);
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '1', () => `the state '1' at ${STATE}; mosquitto:\n${m.log()}`);
    await mosquitto!.stop();
    mosquitto = undefined;
    // Its will: the state goes to '0' when the bridge is gone.
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '0', () => `the state '0' at ${STATE}`);
  });

  it('into a `mqt broker` process (the built binary): connects, forwards both ways once, keeps its state', async () => {
    const port = await freePort();
    const ours = startMqt(['broker', '--port', String(port), '--host', '127.0.0.1']);
    await ours.waitForStdout(/listening on/);
    const m = await bridgeIn(`127.0.0.1:${port}`, 'topic # both 1');
    const watch = await openClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'watch' });
    await watch.client.subscribeAsync(STATE, { qos: 1 });
    await until(() => watch.messages.some((x) => x.payload === '1'), () => `the state '1' from mqt broker; mqt:\n${ours.stdout()}${ours.stderr()}\nmosquitto:\n${m.log()}`);
    const atMosq = await openClient(m.url, { protocolVersion: 4, clientId: 'at-mosq' });
    await atMosq.client.subscribeAsync('p/#', { qos: 1 });
    const atOurs = await openClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'at-ours' });
    await atOurs.client.subscribeAsync('p/#', { qos: 1 });
    // mosquitto's subscription on mqt is not visible from here: probe until one crosses.
    for (let i = 0; !atMosq.messages.some((x) => x.topic === 'p/probe'); i++) {
      if (i === 100) throw new Error(`no probe from mqt reached mosquitto; mosquitto:\n${m.log()}`);
      await atOurs.client.publishAsync('p/probe', 'x', { qos: 0 });
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 200));
    const before = { mosq: atMosq.messages.length, ours: atOurs.messages.length };
    await atMosq.client.publishAsync('p/from-mosquitto', 'm', { qos: 1 });
    await atOurs.client.publishAsync('p/from-ours', 'o', { qos: 1 });
    await until(() => atMosq.messages.some((x) => x.topic === 'p/from-ours') && atOurs.messages.some((x) => x.topic === 'p/from-mosquitto'), () => `both messages on both sides: mosquitto side ${topicsSeen(atMosq)}, our side ${topicsSeen(atOurs)}`);
    await new Promise((r) => setTimeout(r, 500));
    const after = (c: TestClient, from: number): string[] => c.messages.slice(from).map((x) => x.topic).filter((t) => t !== 'p/probe').sort();
    expect(after(atMosq, before.mosq)).toEqual(['p/from-mosquitto', 'p/from-ours']);
    expect(after(atOurs, before.ours)).toEqual(['p/from-mosquitto', 'p/from-ours']);
  });

  it('a retained message crosses retained (Retain As Published for a 3.1.1 bridge)', async () => {
    const address = await ours();
    const m = await bridgeIn(address, 'topic r/# both 1');
    await until(() => (broker!.inspect.session('mosq.b1')?.subscriptions.length ?? 0) > 0, () => `mosquitto's subscription on our broker; mosquitto:\n${m.log()}`);
    const live = await openClient(m.url, { protocolVersion: 4, clientId: 'live' });
    await live.client.subscribeAsync('r/#', { qos: 1 });
    const pub = await openClient(`mqtt://${address}`, { protocolVersion: 4, clientId: 'pub' });
    await pub.client.publishAsync('r/kept', 'k', { qos: 1, retain: true });
    // Once mosquitto has passed it on, a client subscribing there afterwards gets it as retained:
    // the bridge forwarded it with its retain flag.
    expect(await live.next(10_000)).toMatchObject({ topic: 'r/kept', payload: 'k' });
    const late = await openClient(m.url, { protocolVersion: 4, clientId: 'late' });
    await late.client.subscribeAsync('r/#', { qos: 1 });
    const got = await late.next();
    expect(got).toMatchObject({ topic: 'r/kept', payload: 'k' });
    expect(got.packet.retain).toBe(true);
  });

  it("its will '0' is left retained at its state topic once mosquitto is gone", async () => {
    const address = await ours();
    const m = await bridgeIn(address, 'topic # both 1');
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '1', () => `the state '1'; mosquitto:\n${m.log()}`);
    const watch = await openClient(`mqtt://${address}`, { protocolVersion: 5, clientId: 'watch' });
    await watch.client.subscribeAsync(STATE, { qos: 1 });
    expect((await watch.next()).payload).toBe('1');
    // A crash (no DISCONNECT): our broker publishes the will mosquitto set.
    await m.process.kill('SIGKILL');
    const gone = await watch.next(10_000);
    expect(gone).toMatchObject({ topic: STATE, payload: '0' });
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '0', () => 'the retained 0');
  });

  it("a graceful stop of mosquitto also leaves '0'", async () => {
    const address = await ours();
    const m = await bridgeIn(address, 'topic # both 1');
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '1', () => `the state '1'; mosquitto:\n${m.log()}`);
    await m.stop();
    await until(() => broker!.inspect.retained(STATE)?.payload.toString() === '0', () => `the retained 0 after SIGTERM, have ${broker!.inspect.retained(STATE)?.payload.toString()}`, 10_000);
  });
});
