import { Chalk } from 'chalk';
import { afterEach, describe, expect, it } from 'vitest';
import { MODES, parseModes } from '../../../src/commands/lwt-test.js';
import { duration, DURATION_WIDTH, jsonLine, summary, tableHeader, tableRow, verdict } from '../../../src/commands/render/lwt-test-output.js';
import { createBroker, type Broker, type CreateBrokerOptions } from '../../../src/core/broker/broker.js';
import { ConnectError } from '../../../src/core/client/diagnose.js';
import { EARLY_SLACK_MS, expectationOf, judge, LWT_MODES, propertiesMatch, runLwtTest, type LwtModeResult, type ModeObservation } from '../../../src/core/client/lwt-test.js';
import { RawClient } from '../../../src/core/client/raw-client.js';
import type { ConnectionOptions } from '../../../src/core/client/types.js';
import { ReasonCode } from '../../../src/core/codec/constants.js';
import type { Will } from '../../../src/core/codec/types.js';
import { brokerEvent } from '../../helpers/start-broker.js';

// The verdicts of `mqt lwt-test` (judge, pure), the raw client that misbehaves on purpose
// (against mqt's broker on loopback ports), and runLwtTest end to end in-process.

const WILL: Will = { topic: 'w/t', payload: Buffer.from('gone'), qos: 1, retain: false };

function observation(o: Partial<ModeObservation> = {}): ModeObservation {
  return {
    mode: 'kill',
    protocolVersion: 5,
    expected: 'will',
    will: WILL,
    grantedQos: 2,
    dueMs: 0,
    timeoutMs: 1000,
    deadlineMs: 2000,
    willDelay: undefined,
    arrivals: [],
    retained: undefined,
    takeover: undefined,
    ...o,
  };
}

const arrival = (a: Partial<ModeObservation['arrivals'][number]> = {}): ModeObservation['arrivals'][number] => ({
  latencyMs: 5,
  payload: WILL.payload,
  qos: 1,
  retain: false,
  properties: undefined,
  ...a,
});

describe('expectationOf: what the spec requires per mode and version', () => {
  it.each([
    ['kill', 5, 'will'],
    ['kill', 4, 'will'],
    ['keepalive', 5, 'will'],
    ['keepalive', 4, 'will'],
    ['graceful', 5, 'no will'],
    ['graceful', 4, 'no will'],
    ['disconnect-with-will', 5, 'will'],
    // 3.1.1's DISCONNECT has no reason code: the mode does not exist there.
    ['disconnect-with-will', 4, 'skipped'],
    ['disconnect-with-will', 3, 'skipped'],
    // 5.0 section 3.1.4: the taken-over connection's will is published; 3.1.1 leaves it open.
    ['takeover', 5, 'will'],
    ['takeover', 4, 'either'],
  ] as const)('%s over %i: %s', (mode, version, expected) => {
    expect(expectationOf(mode, version)).toBe(expected);
  });
});

describe('judge', () => {
  it('passes a will that arrived as set', () => {
    const r = judge(observation({ arrivals: [arrival()] }));
    expect(r).toMatchObject({ pass: true, observed: 'will', latencyMs: 5, count: 1, match: { payload: true, qos: true, retain: true, properties: undefined }, problems: [] });
  });

  it('fails a will that must come and did not', () => {
    // The time allowed (due + timeout) is named, not the longer watch for a late will.
    const r = judge(observation({ timeoutMs: 2500, deadlineMs: 3500 }));
    expect(r.pass).toBe(false);
    expect(r.observed).toBe('no will');
    expect(r.problems).toEqual(["no will within 2.5 s of the victim's end"]);
  });

  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will.
  it('fails a will after a normal DISCONNECT, citing MQTT-3.14.4-3', () => {
    const r = judge(observation({ mode: 'graceful', expected: 'no will', arrivals: [arrival({ latencyMs: 12 })] }));
    expect(r.pass).toBe(false);
    expect(r.problems[0]).toMatch(/after a normal DISCONNECT.*\[MQTT-3\.14\.4-3\]/);
  });

  it('passes graceful when nothing came', () => {
    expect(judge(observation({ mode: 'graceful', expected: 'no will' }))).toMatchObject({ pass: true, observed: 'no will', match: undefined });
  });

  it('fails a will that came before its delay, allowing whole-second broker clocks', () => {
    const early = judge(observation({ dueMs: 3000, willDelay: 3, arrivals: [arrival({ latencyMs: 1500 })] }));
    expect(early.pass).toBe(false);
    expect(early.problems[0]).toMatch(/before the will delay \(3 s\)/);
    const slack = judge(observation({ dueMs: 3000, willDelay: 3, arrivals: [arrival({ latencyMs: 3000 - EARLY_SLACK_MS + 1 })] }));
    expect(slack.pass).toBe(true);
  });

  it('notes a keep-alive noticed late but within --timeout, and passes it', () => {
    const r = judge(observation({ mode: 'keepalive', dueMs: 1500, timeoutMs: 5000, arrivals: [arrival({ latencyMs: 6400 })] }));
    expect(r.pass).toBe(true);
    expect(r.notes[0]).toMatch(/noticed the silence 4\.9 s after 1\.5 × keep-alive/);
  });

  // --timeout is how late a will may be: the case of the issue, 4.6 s after 1.5 × keep-alive with --timeout 1.
  it('fails a keep-alive will later than --timeout, saying by how much', () => {
    const r = judge(observation({ mode: 'keepalive', dueMs: 3000, timeoutMs: 1000, deadlineMs: 9000, arrivals: [arrival({ latencyMs: 7600 })] }));
    expect(r.pass).toBe(false);
    expect(r.observed).toBe('will');
    expect(r.problems).toEqual(['the will came 4.6 s after 1.5 × keep-alive (3 s), 3.6 s later than --timeout 1 s allows (brokers check keep-alives on a timer: a longer --timeout allows for it)']);
  });

  it.each([
    ['kill, at once', 'kill', 0, undefined, 'the will came 1.2 s after the victim\'s end, 0.7 s later than --timeout 0.5 s allows'],
    ['kill, after a delay', 'kill', 2000, 2, 'the will came 1.2 s after the will delay (2 s), 0.7 s later than --timeout 0.5 s allows'],
    ['disconnect-with-will', 'disconnect-with-will', 0, undefined, 'the will came 1.2 s after the victim\'s end, 0.7 s later than --timeout 0.5 s allows'],
    ['takeover', 'takeover', 0, undefined, 'the will came 1.2 s after the victim\'s end, 0.7 s later than --timeout 0.5 s allows'],
  ] as const)('fails a late will in every mode that expects one: %s', (_name, mode, dueMs, willDelay, problem) => {
    const late = judge(observation({ mode, dueMs, willDelay, timeoutMs: 500, arrivals: [arrival({ latencyMs: dueMs + 1200 })] }));
    expect(late.problems).toEqual([problem]);
    // Exactly due + timeout is still in time.
    const inTime = judge(observation({ mode, dueMs, willDelay, timeoutMs: 500, arrivals: [arrival({ latencyMs: dueMs + 500 })] }));
    expect(inTime.pass).toBe(true);
  });

  it('graceful: a will within --timeout of the end fails (watched that long); none passes', () => {
    expect(judge(observation({ mode: 'graceful', expected: 'no will', timeoutMs: 500, deadlineMs: 500, arrivals: [arrival({ latencyMs: 480 })] })).pass).toBe(false);
    expect(judge(observation({ mode: 'graceful', expected: 'no will', timeoutMs: 500, deadlineMs: 500 })).pass).toBe(true);
  });

  it('fails a keep-alive disconnect well before 1.5 × keep-alive', () => {
    const r = judge(observation({ mode: 'keepalive', dueMs: 3000, arrivals: [arrival({ latencyMs: 900 })] }));
    expect(r.problems[0]).toMatch(/before 1\.5 × keep-alive/);
  });

  it('expects the smaller of the will QoS and the granted QoS', () => {
    const will = { ...WILL, qos: 2 as const };
    expect(judge(observation({ will, grantedQos: 1, arrivals: [arrival({ qos: 1 })] })).pass).toBe(true);
    const wrong = judge(observation({ will, grantedQos: 2, arrivals: [arrival({ qos: 1 })] }));
    expect(wrong.match?.qos).toBe(false);
    expect(wrong.problems[0]).toMatch(/QoS 1, expected 2/);
  });

  // [MQTT-3.3.1-13] Retain As Published (5.0) keeps the flag; [MQTT-3.3.1-9] 3.1.1 clears it on live delivery.
  it('checks the retain flag per version', () => {
    const will = { ...WILL, retain: true };
    expect(judge(observation({ will, arrivals: [arrival({ retain: true })] })).match?.retain).toBe(true);
    expect(judge(observation({ will, arrivals: [arrival({ retain: false })] })).problems[0]).toMatch(/MQTT-3\.3\.1-13/);
    expect(judge(observation({ protocolVersion: 4, will, arrivals: [arrival({ retain: false })] })).pass).toBe(true);
    expect(judge(observation({ protocolVersion: 4, will, arrivals: [arrival({ retain: true })] })).problems[0]).toMatch(/MQTT-3\.3\.1-9/);
  });

  it('fails another payload', () => {
    const r = judge(observation({ arrivals: [arrival({ payload: Buffer.from('other!') })] }));
    expect(r.match?.payload).toBe(false);
    expect(r.problems[0]).toMatch(/payload differs: 6 bytes arrived, 4 were set/);
  });

  it('fails a QoS 2 will that arrived twice, notes a QoS 1 duplicate', () => {
    const qos2 = { ...WILL, qos: 2 as const };
    expect(judge(observation({ will: qos2, arrivals: [arrival({ qos: 2 }), arrival({ qos: 2 })] })).problems).toContain('the QoS 2 will arrived 2 times');
    const qos1 = judge(observation({ arrivals: [arrival(), arrival()] }));
    expect(qos1.pass).toBe(true);
    expect(qos1.notes).toContain('the will arrived 2 times');
  });

  // [MQTT-3.1.4-3] the broker closes the existing connection on takeover.
  it('takeover: fails when the first connection stays open, notes a missing 0x8E', () => {
    const open = judge(observation({ mode: 'takeover', arrivals: [arrival()], takeover: { closed: false, reasonCode: undefined } }));
    expect(open.problems[0]).toMatch(/did not close the first connection.*MQTT-3\.1\.4-3/);
    const no8e = judge(observation({ mode: 'takeover', arrivals: [arrival()], takeover: { closed: true, reasonCode: undefined } }));
    expect(no8e.pass).toBe(true);
    expect(no8e.notes[0]).toMatch(/without DISCONNECT 0x8E/);
    expect(judge(observation({ mode: 'takeover', arrivals: [arrival()], takeover: { closed: true, reasonCode: ReasonCode.SessionTakenOver } })).notes).toEqual([]);
  });

  it('takeover in 3.1.1 passes either way and says which', () => {
    const none = judge(observation({ mode: 'takeover', protocolVersion: 4, expected: 'either', takeover: { closed: true, reasonCode: undefined } }));
    expect(none).toMatchObject({ pass: true, observed: 'no will' });
    expect(none.notes[0]).toMatch(/does not publish it/);
    const some = judge(observation({ mode: 'takeover', protocolVersion: 4, expected: 'either', arrivals: [arrival()], takeover: { closed: true, reasonCode: undefined } }));
    expect(some).toMatchObject({ pass: true, observed: 'will' });
    expect(some.notes[0]).toMatch(/publishes it/);
    // Either outcome, but a will that does come must still be the will.
    const wrong = judge(observation({ mode: 'takeover', protocolVersion: 4, expected: 'either', arrivals: [arrival({ payload: Buffer.from('x') })], takeover: { closed: true, reasonCode: undefined } }));
    expect(wrong.pass).toBe(false);
  });

  it('takeover with a will delay explains why the will is due at once', () => {
    const r = judge(observation({ mode: 'takeover', willDelay: 5, takeover: { closed: true, reasonCode: ReasonCode.SessionTakenOver } }));
    expect(r.problems[0]).toMatch(/Clean Start ends the first session.*3\.1\.3\.2\.2/);
  });

  it('skips a mode that does not apply, and that counts as passed', () => {
    const r = judge(observation({ mode: 'disconnect-with-will', protocolVersion: 4, expected: 'skipped' }));
    expect(r).toMatchObject({ pass: true, observed: 'skipped', problems: [] });
    expect(r.notes[0]).toMatch(/needs MQTT 5/);
  });

  // [MQTT-3.3.1-10] (3.1.1) an empty retained message deletes the retained one: nothing may be kept.
  it('an empty retained will must leave no retained message', () => {
    const will = { ...WILL, payload: Buffer.alloc(0), retain: true };
    const gone = judge(observation({ will, arrivals: [arrival({ payload: Buffer.alloc(0), retain: true })], retained: { present: false, cleared: true } }));
    expect(gone.pass).toBe(true);
    expect(gone.notes[0]).toMatch(/empty retained will deletes the retained message/);
    const kept = judge(observation({ will, arrivals: [arrival({ payload: Buffer.alloc(0), retain: true })], retained: { present: true, cleared: true } }));
    expect(kept.problems[0]).toMatch(/empty retained will was kept/);
  });

  it('fails a retained will a new subscriber did not get', () => {
    const r = judge(observation({ will: { ...WILL, retain: true }, arrivals: [arrival({ retain: true })], retained: { present: false, cleared: true } }));
    expect(r.problems).toEqual(['a new subscriber did not get the will as a retained message']);
  });
});

describe('propertiesMatch (5.0 section 3.3.2.3: forwarded unaltered)', () => {
  const will = (properties: Will['properties']): Will => ({ ...WILL, properties });

  it('is undefined when there is nothing to forward (the delay stays with the broker)', () => {
    expect(propertiesMatch(will(undefined), undefined)).toBeUndefined();
    expect(propertiesMatch(will({ willDelayInterval: 3 }), undefined)).toBeUndefined();
  });

  it('compares content type, correlation data, payload format and user properties', () => {
    const w = will({ contentType: 'text/plain', correlationData: Buffer.from([1, 2]), payloadFormatIndicator: 1, userProperties: [['a', '1'], ['b', '2'], ['a', '3']] });
    expect(propertiesMatch(w, { contentType: 'text/plain', correlationData: Buffer.from([1, 2]), payloadFormatIndicator: true, userProperties: { b: '2', a: ['1', '3'] } })).toBe(true);
    expect(propertiesMatch(w, { contentType: 'text/html', correlationData: Buffer.from([1, 2]), payloadFormatIndicator: true, userProperties: { b: '2', a: ['1', '3'] } })).toBe(false);
    expect(propertiesMatch(w, { contentType: 'text/plain', correlationData: Buffer.from([1, 2]), payloadFormatIndicator: true, userProperties: { a: ['1', '3'] } })).toBe(false);
    expect(propertiesMatch(w, { contentType: 'text/plain', correlationData: Buffer.from([9]), payloadFormatIndicator: true, userProperties: { b: '2', a: ['1', '3'] } })).toBe(false);
  });

  it('accepts a message expiry that counted down, not one that grew or vanished', () => {
    const w = will({ messageExpiryInterval: 60 });
    expect(propertiesMatch(w, { messageExpiryInterval: 59 })).toBe(true);
    expect(propertiesMatch(w, { messageExpiryInterval: 61 })).toBe(false);
    expect(propertiesMatch(w, undefined)).toBe(false);
  });
});

describe('--mode', () => {
  it('lists the library modes, in order', () => {
    expect([...MODES]).toEqual([...LWT_MODES]);
  });

  it.each([
    ['kill', ['kill']],
    ['graceful,kill', ['graceful', 'kill']],
    ['kill, kill', ['kill']],
    ['all', [...LWT_MODES]],
    ['kill,all', [...LWT_MODES]],
  ])('%s', (value, modes) => {
    expect(parseModes(value)).toEqual(modes);
  });

  it.each([
    ['bogus', /unknown mode 'bogus'; choose from kill, keepalive, graceful, disconnect-with-will, takeover, all/],
    [',', /needs a value/],
    [['kill', 'all'], /given more than once/],
  ])('refuses %j', (value, message) => {
    expect(() => parseModes(value)).toThrow(message);
  });
});

describe('output', () => {
  const plain = new Chalk({ level: 0 });
  const result = (o: Partial<LwtModeResult> = {}): LwtModeResult => ({
    ...judge(observation({ will: { ...WILL, retain: true }, arrivals: [arrival({ latencyMs: 1520, retain: true })], dueMs: 1500, mode: 'keepalive', retained: { present: true, cleared: true } })),
    topic: 'w/t',
    clientId: 'v1',
    ...o,
  });

  it('one JSON object a line, fields in a fixed order', () => {
    const line = jsonLine(result());
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['mode', 'result', 'pass', 'protocolVersion', 'expected', 'observed', 'topic', 'clientId', 'latencyMs', 'dueMs', 'payloadMatched', 'qosMatched', 'retainMatched', 'retained', 'problems', 'notes']);
    expect(o).toMatchObject({ mode: 'keepalive', result: 'pass', pass: true, protocolVersion: '5.0', latencyMs: 1520, dueMs: 1500, retained: { present: true, cleared: true } });
  });

  it('a table row per mode, with the time against when it was due', () => {
    expect(tableRow(result(), plain)).toMatch(/^keepalive\s+will\s+will\s+1\.52 s \(due 1\.50 s\)\s+yes\s+yes\s+kept\s+PASS$/);
    const failed = result({ pass: false, problems: ['x'] });
    expect(verdict(failed)).toBe('fail');
    expect(tableRow(failed, plain)).toMatch(/FAIL$/);
  });

  it('summaries', () => {
    const skipped = { ...result(), observed: 'skipped' as const, expected: 'skipped' as const };
    expect(summary([result(), skipped], plain)).toBe('✔ 1 of 1 mode passed (1 skipped)');
    expect(summary([result(), result({ mode: 'graceful', pass: false })], plain)).toBe('✘ 1 of 2 modes failed: graceful');
  });

  it('durations', () => {
    expect(duration(12)).toBe('12 ms');
    expect(duration(1503)).toBe('1.50 s');
    expect(duration(12_340)).toBe('12.3 s');
    expect(duration(345_000)).toBe('345 s');
    expect(duration(9000 * 1000)).toBe('9000 s');
    expect(duration(36_000 * 1000)).toBe('10.0 h');
    expect(duration(2 ** 32 * 1000)).toBe('49710 d');
  });

  // Every value the TIME column can hold, the widest of each form included: a will delay of
  // 2 s (the issue: it overflowed), days-long delays, a 65,535 s keep-alive.
  const EDGES = [0, 999.6, 1000, 9995, 99_950, 9_999_500, 359_990_000, 2 ** 32 * 1000 + 98_302_500];
  it.each(EDGES)('the duration of %d ms fits DURATION_WIDTH', (ms) => {
    expect(duration(ms).length).toBeLessThanOrEqual(DURATION_WIDTH);
  });

  it('the table lines align whatever the times (one header, rows of every width)', () => {
    const rows = [
      tableHeader(plain),
      tableRow(result({ mode: 'kill', latencyMs: 2012, dueMs: 2000, willDelay: 2 }), plain),
      tableRow(result({ mode: 'disconnect-with-will', latencyMs: 3, dueMs: 0 }), plain),
      tableRow(result({ mode: 'graceful', expected: 'no will', observed: 'no will', latencyMs: undefined, match: undefined }), plain),
      ...EDGES.flatMap((a) => EDGES.map((d) => tableRow(result({ latencyMs: a, dueMs: d, willDelay: d / 1000 }), plain))),
    ];
    // Each column starts where the header's does: PAYLOAD, QOS, RETAIN, RESULT are read off that place.
    const header = rows[0]!;
    for (const name of ['EXPECTED', 'OBSERVED', 'TIME', 'PAYLOAD', 'QOS', 'RETAIN', 'RESULT']) {
      const at = header.indexOf(name);
      for (const row of rows.slice(1)) {
        expect(row[at - 1], `${name} in ${JSON.stringify(row)}`).toBe(' ');
        expect(row[at], `${name} in ${JSON.stringify(row)}`).not.toBe(' ');
      }
    }
    expect(rows[1]).toMatch(/^kill\s+will\s+will\s+2\.01 s \(due 2\.00 s\)\s+yes\s+yes\s+kept\s+PASS$/);
  });
});

// ---- against mqt's broker on loopback ----------------------------------------------------

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function serve(options: CreateBrokerOptions = {}, ws = false): Promise<ConnectionOptions> {
  broker = createBroker(options);
  const [tcp, wsAddress] = await broker.listen({ port: 0, host: '127.0.0.1', ...(ws ? { ws: { port: 0, path: '/mqtt' } } : {}) });
  return {
    transport: ws ? 'ws' : 'mqtt',
    host: '127.0.0.1',
    port: ws ? wsAddress!.port : tcp!.port,
    wsPath: '/mqtt',
    clientId: 'unused',
    keepalive: 60,
    protocolVersion: 5,
    fallback: false,
    clean: true,
    reconnect: false,
    connectTimeoutMs: 2000,
  };
}

const victim = (connection: ConnectionOptions, o: Partial<Parameters<typeof RawClient.connect>[0]> = {}): Promise<RawClient> =>
  RawClient.connect({ connection, clientId: 'victim', protocolVersion: 5, keepalive: 60, clean: true, will: { ...WILL, properties: { contentType: 'x' } }, ...o });

describe('RawClient', () => {
  // [MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT.
  it('kill(): the connection goes without DISCONNECT, the broker publishes the will', async () => {
    const connection = await serve();
    const c = await victim(connection);
    const will = brokerEvent(broker!, 'will');
    c.kill();
    const [client, message] = await will;
    expect(client.clientId).toBe('victim');
    expect(message.topic).toBe('w/t');
    expect((await c.closed).by).toBe('client');
  });

  it('kill() over WebSocket terminates the socket: the will comes too', async () => {
    const connection = await serve({}, true);
    const c = await victim(connection);
    const will = brokerEvent(broker!, 'will');
    c.kill();
    await will;
  });

  // [MQTT-3.14.4-3]
  it('disconnect(0): no will; disconnect(0x04): the will (5.0)', async () => {
    const connection = await serve();
    const wills: string[] = [];
    broker!.on('will', (client) => wills.push(client.clientId));
    const polite = await victim(connection, { clientId: 'polite' });
    const gone = brokerEvent(broker!, 'disconnect', (client) => client.clientId === 'polite');
    polite.disconnect(ReasonCode.NormalDisconnection);
    await gone;
    const withWill = await victim(connection, { clientId: 'with-will' });
    const will = brokerEvent(broker!, 'will');
    withWill.disconnect(ReasonCode.DisconnectWithWillMessage);
    await will;
    expect(wills).toEqual(['with-will']);
  });

  // 3.1.1 [MQTT-3.1.2-24]: 1.5 × keep-alive of silence and the broker disconnects.
  it('never pings: the broker closes a silent client after 1.5 × keep-alive', async () => {
    const connection = await serve();
    const c = await victim(connection, { protocolVersion: 4, keepalive: 1 });
    const closed = await c.closed;
    expect(closed.by).toBe('broker');
    expect(closed.at - c.connackAt).toBeGreaterThanOrEqual(1400);
    expect(closed.at - c.connackAt).toBeLessThan(3000);
  });

  // [MQTT-3.1.4-3] takeover: DISCONNECT 0x8E, then the close.
  it('records the DISCONNECT a broker sends before closing (takeover)', async () => {
    const connection = await serve();
    const first = await victim(connection);
    const second = await victim(connection, { will: undefined });
    const closed = await first.closed;
    expect(closed).toMatchObject({ by: 'broker', disconnect: { type: 'disconnect', reasonCode: ReasonCode.SessionTakenOver } });
    second.disconnect();
  });

  it('a refusal is a ConnectError with the CONNACK reason code', async () => {
    const connection = await serve({ hooks: { authenticate: () => ReasonCode.NotAuthorized } });
    const err = await victim(connection).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).reasonCode).toBe(ReasonCode.NotAuthorized);
    expect((err as Error).message).toMatch(/refused the connection: Not authorized \(0x87\)/);
  });

  it('a port with no broker is a ConnectError explained in words', async () => {
    const connection = await serve();
    await broker!.close();
    const err = await victim(connection).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toMatch(/connection refused by 127\.0\.0\.1:\d+/);
  });

  it('3.1.1: will properties are not sent (the codec would refuse them)', async () => {
    const connection = await serve();
    const c = await victim(connection, { protocolVersion: 4 });
    const will = brokerEvent(broker!, 'will');
    c.kill();
    const [, message] = await will;
    expect(message.properties).toBeUndefined();
  });
});

describe('runLwtTest in-process', () => {
  const base = { defaultPayload: false, keepalive: 1, timeoutMs: 1500 };

  it('a retained will: found by a new subscriber, then cleared from the broker', async () => {
    const connection = await serve();
    const results = await runLwtTest({ ...base, connection, modes: ['kill', 'graceful'], will: { topic: undefined, payload: Buffer.from('bye'), qos: 2, retain: true } });
    expect(results.map((r) => [r.mode, r.pass, r.observed])).toEqual([
      ['kill', true, 'will'],
      ['graceful', true, 'no will'],
    ]);
    expect(results[0]!.retained).toEqual({ present: true, cleared: true });
    expect(results[0]!.topic).toMatch(/^mqt\/lwt-test\/[0-9a-f]{8}$/);
    expect(results[0]!.topic).not.toBe(results[1]!.topic);
    expect(broker!.inspect.retainedCount()).toBe(0);
  });

  it('a subscription granted at QoS 1 gets a QoS 2 will at QoS 1, which matches', async () => {
    const connection = await serve({ hooks: { authorizeSubscribe: () => 1 } });
    const [r] = await runLwtTest({ ...base, connection, modes: ['disconnect-with-will'], will: { topic: 'lwt/own', payload: Buffer.from('x'), qos: 2, retain: false } });
    expect(r).toMatchObject({ pass: true, topic: 'lwt/own', match: { qos: true } });
  });

  it('a broker that loses wills fails kill', async () => {
    // Wills are publishes the broker authorizes like any other: refusing them drops them. The
    // broker also asks at CONNECT (a will its client may not publish is refused there): allow
    // that first question, refuse when the will is published.
    const asked = new Set<string>();
    const authorizePublish = (client: { clientId: string }): boolean => {
      if (!client.clientId.startsWith('mqt-lwt-test-')) return true;
      if (asked.has(client.clientId)) return false;
      asked.add(client.clientId);
      return true;
    };
    const connection = await serve({ hooks: { authorizePublish } });
    const [r] = await runLwtTest({ ...base, connection, modes: ['kill'], will: { topic: undefined, payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(r).toMatchObject({ pass: false, observed: 'no will' });
  });

  it('refuses with LwtError when the watcher may not subscribe', async () => {
    const connection = await serve({ hooks: { authorizeSubscribe: () => false } });
    await expect(runLwtTest({ ...base, connection, modes: ['kill'], will: { topic: undefined, payload: Buffer.alloc(0), qos: 0, retain: false } })).rejects.toThrow(/refused the subscription to the will topic/);
  });
});
