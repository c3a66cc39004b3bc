import { connectAsync, type MqttClient } from 'mqtt';
import { Chalk } from 'chalk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../../../src/core/client/connect.js';
import { clear, discover, RetainClearError, select, verify, type DiscoverOptions, type RetainedMessage } from '../../../src/core/client/retain-clear.js';
import type { ConnectionOptions, ProtocolLevel } from '../../../src/core/client/types.js';
import type { Packet, Properties } from '../../../src/core/codec/index.js';
import { topicMatches } from '../../../src/core/topic/match.js';
import { count, filterPhrase, formatBytes, formatDuration, jsonReport, listing, question, summaryLine, timeoutNote, type FoundSummary } from '../../../src/commands/render/retain-clear-output.js';
import { startBroker, type StartedBroker } from '../../helpers/start-broker.js';
import { startFakeBroker, type FakeBroker as SharedFakeBroker, type FakeClient } from '../../helpers/fake-broker.js';

function options(port: number, protocolVersion: ProtocolLevel = 5): ConnectionOptions {
  return {
    transport: 'mqtt',
    host: '127.0.0.1',
    port,
    wsPath: '/mqtt',
    clientId: `retain-clear-unit-${Math.random().toString(16).slice(2)}`,
    keepalive: 60,
    protocolVersion,
    fallback: false,
    clean: true,
    reconnect: false,
  };
}

const FAST: DiscoverOptions = { quietMs: 150, timeoutMs: 5000 };

// ---- a broker stand-in on our codec ---------------------------------------------------------

interface FakeOptions {
  /** CONNACK properties (5.0), e.g. a Receive Maximum. */
  connack?: Properties;
  /** SUBACK code for a filter; default: granted QoS 1. */
  suback?: (filter: string) => number;
  /** The PUBACK reason code (5.0) for a publish; default 0. */
  puback?: (topic: string) => number;
  /** Topics whose empty retained publish is acknowledged but ignored. */
  keeps?: (topic: string) => boolean;
  /** Do not acknowledge publishes until release() is called. */
  holdAcks?: boolean;
  /** After the retained messages of a SUBSCRIBE, also send these (live or retained) with a delay each. */
  after?: { topic: string; retain: boolean; delayMs: number }[];
  /** Keep sending a retained message on 'forever/x' every 30 ms after each SUBSCRIBE. */
  endless?: boolean;
  /** Close the connection after this many publishes. */
  closeAfterPublishes?: number;
}

/**
 * A minimal broker on the shared fake: SUBSCRIBE is followed by its retained messages (with the
 * retain flag), PUBLISH goes to a retain store (empty retained deletes unless `keeps`). It
 * misbehaves only as told, and records what it saw.
 */
class FakeBroker {
  readonly retained = new Map<string, { payload: Buffer; properties?: Properties }>();
  readonly publishes: string[] = [];
  /** Most publishes awaiting a PUBACK at once. */
  maxOutstanding = 0;
  private outstanding: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private broker!: SharedFakeBroker;
  port = 0;

  constructor(private readonly o: FakeOptions = {}) {}

  async start(): Promise<this> {
    this.broker = await startFakeBroker({ onPacket: (p, client) => this.onPacket(p, client) });
    this.port = this.broker.port;
    return this;
  }

  release(): void {
    for (const ack of this.outstanding.splice(0)) ack();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.broker.close();
  }

  private onPacket(p: Packet, client: FakeClient): boolean {
    const { version, send } = client;
    switch (p.type) {
      case 'connect':
        send({ type: 'connack', sessionPresent: false, reasonCode: 0, ...(version === 5 && this.o.connack ? { properties: this.o.connack } : {}) });
        return true;
      case 'subscribe': {
        const codes = p.subscriptions.map((s) => this.o.suback?.(s.topicFilter) ?? 1);
        send({ type: 'suback', packetId: p.packetId, reasonCodes: codes });
        p.subscriptions.forEach((s, i) => {
          if (codes[i]! >= 0x80) return;
          for (const [topic, m] of this.retained) {
            if (topicMatches(s.topicFilter, topic)) send({ type: 'publish', topic, payload: m.payload, qos: 0, retain: true, dup: false, ...(version === 5 && m.properties ? { properties: m.properties } : {}) });
          }
        });
        let at = 0;
        for (const a of this.o.after ?? []) {
          at += a.delayMs;
          const t = setTimeout(() => send({ type: 'publish', topic: a.topic, payload: Buffer.from('x'), qos: 0, retain: a.retain, dup: false }), at);
          this.timers.add(t);
        }
        if (this.o.endless) {
          const t = setInterval(() => send({ type: 'publish', topic: 'forever/x', payload: Buffer.from('x'), qos: 0, retain: true, dup: false }), 30);
          this.timers.add(t);
        }
        return true;
      }
      case 'publish': {
        this.publishes.push(p.topic);
        if (this.o.closeAfterPublishes !== undefined && this.publishes.length >= this.o.closeAfterPublishes) {
          client.socket.destroy();
          return true;
        }
        const code = this.o.puback?.(p.topic) ?? 0;
        if (p.retain && code < 0x80) {
          if (p.payload.length > 0) this.retained.set(p.topic, { payload: p.payload });
          else if (!this.o.keeps?.(p.topic)) this.retained.delete(p.topic);
        }
        if (p.qos === 1) {
          const ack = (): void => send({ type: 'puback', packetId: p.packetId!, ...(version === 5 ? { reasonCode: code } : {}) });
          if (this.o.holdAcks) {
            this.outstanding.push(ack);
            this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.length);
          } else {
            ack();
          }
        }
        return true;
      }
      default:
        return false;
    }
  }
}

const fakes: FakeBroker[] = [];
const conns: Connection[] = [];
async function fake(o: FakeOptions = {}): Promise<FakeBroker> {
  const f = await new FakeBroker(o).start();
  fakes.push(f);
  return f;
}
async function open(port: number, version: ProtocolLevel = 5): Promise<Connection> {
  const c = await connect(options(port, version));
  conns.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.destroy()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

function seed(f: FakeBroker, topics: string[], properties?: Properties): void {
  for (const t of topics) f.retained.set(t, { payload: Buffer.from(`v:${t}`), ...(properties ? { properties } : {}) });
}

const msg = (topic: string, bytes = 1): RetainedMessage => ({ topic, bytes, qos: 0 });

// ---- select -----------------------------------------------------------------------------------

describe('select', () => {
  const messages = ['eg/a', 'eg/b/1', 'eg/b/2', 'eg/keep/x', 'eg/keep'].map((t) => msg(t));

  it('keeps everything without exclude or match', () => {
    expect(select(messages)).toEqual({ selected: messages, excluded: 0, unmatched: 0 });
  });

  it('leaves out the topics an exclude filter matches, counting them', () => {
    // 'eg/keep/#' also matches its parent 'eg/keep' (MQTT 4.7.1.2).
    const r = select(messages, { exclude: ['eg/keep/#'] });
    expect(r.selected.map((m) => m.topic)).toEqual(['eg/a', 'eg/b/1', 'eg/b/2']);
    expect(r.excluded).toBe(2);
  });

  it('keeps only the topics the regular expression matches; exclusion is counted first', () => {
    const r = select(messages, { exclude: ['eg/a'], match: /\/\d+$/ });
    expect(r.selected.map((m) => m.topic)).toEqual(['eg/b/1', 'eg/b/2']);
    expect(r).toMatchObject({ excluded: 1, unmatched: 2 });
  });

  it('a /g expression gives the same answer for every topic (no lastIndex carried over)', () => {
    const r = select([msg('a/1'), msg('a/2'), msg('a/3')], { match: /a\/\d/g });
    expect(r.selected).toHaveLength(3);
  });
});

// ---- discover ---------------------------------------------------------------------------------

describe('discover', () => {
  it('collects the retained messages under the filters, with sizes, and unsubscribes', async () => {
    const f = await fake();
    seed(f, ['eg/a', 'eg/b/c', 'other/x']);
    const conn = await open(f.port);
    const d = await discover(conn, ['eg/#'], FAST);
    expect(d.messages.map((m) => m.topic).sort()).toEqual(['eg/a', 'eg/b/c']);
    expect(d.messages.find((m) => m.topic === 'eg/a')).toEqual({ topic: 'eg/a', bytes: 6, qos: 0, expiresInS: undefined, payload: undefined });
    expect(d).toMatchObject({ ignored: 0, timedOut: false, refused: [] });
  });

  it('keeps payloads when asked, and reports the MQTT 5 expiry as the age hint', async () => {
    const f = await fake();
    seed(f, ['eg/e'], { messageExpiryInterval: 3600 });
    const conn = await open(f.port);
    const d = await discover(conn, ['eg/#'], { ...FAST, keepPayloads: true });
    expect(d.messages).toEqual([{ topic: 'eg/e', bytes: 6, qos: 0, expiresInS: 3600, payload: Buffer.from('v:eg/e') }]);
  });

  it('ignores live (non-retained) messages and keeps one entry per topic across overlapping filters', async () => {
    const f = await fake({ after: [{ topic: 'eg/live', retain: false, delayMs: 20 }, { topic: 'eg/live', retain: false, delayMs: 20 }] });
    seed(f, ['eg/a', 'eg/b/c']);
    const conn = await open(f.port);
    const d = await discover(conn, ['eg/#', 'eg/b/#', 'eg/#'], FAST);
    expect(d.messages.map((m) => m.topic).sort()).toEqual(['eg/a', 'eg/b/c']);
    expect(d.ignored).toBe(2);
  });

  it('waits for a retained message that comes within the quiet period, and ends one quiet period after the last', async () => {
    const f = await fake({ after: [{ topic: 'eg/late1', retain: true, delayMs: 100 }, { topic: 'eg/late2', retain: true, delayMs: 100 }] });
    const conn = await open(f.port);
    const started = Date.now();
    const d = await discover(conn, ['eg/#'], { quietMs: 250, timeoutMs: 5000 });
    const elapsed = Date.now() - started;
    expect(d.messages.map((m) => m.topic)).toEqual(['eg/late1', 'eg/late2']);
    expect(d.timedOut).toBe(false);
    // The last message comes at ~200 ms; the burst is over ~250 ms later.
    expect(elapsed).toBeGreaterThanOrEqual(440);
    expect(elapsed).toBeLessThan(2000);
  });

  it('stops at the hard timeout when retained messages never stop coming, and says so', async () => {
    const f = await fake({ endless: true });
    const conn = await open(f.port);
    const started = Date.now();
    const d = await discover(conn, ['forever/#'], { quietMs: 200, timeoutMs: 600 });
    expect(d.timedOut).toBe(true);
    expect(d.messages.map((m) => m.topic)).toEqual(['forever/x']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports filters the broker refuses in the SUBACK and still reads the others', async () => {
    const f = await fake({ suback: (filter) => (filter.startsWith('secret') ? 0x87 : 1) });
    seed(f, ['eg/a', 'secret/x']);
    const conn = await open(f.port);
    const d = await discover(conn, ['secret/#', 'eg/#'], FAST);
    expect(d.refused).toEqual([{ filter: 'secret/#', reasonCode: 0x87 }]);
    expect(d.messages.map((m) => m.topic)).toEqual(['eg/a']);
  });

  it('resolves at once with every filter refused', async () => {
    const f = await fake({ suback: () => 0x80 });
    const conn = await open(f.port, 4);
    const d = await discover(conn, ['a/#'], { quietMs: 5000, timeoutMs: 10_000 });
    expect(d.refused).toEqual([{ filter: 'a/#', reasonCode: 0x80 }]);
    expect(d.messages).toEqual([]);
  });

  it('rejects with RetainClearError when the connection is lost', async () => {
    const f = await fake({ endless: true });
    const conn = await open(f.port);
    const pending = discover(conn, ['forever/#'], { quietMs: 1000, timeoutMs: 5000 });
    setTimeout(() => void f.stop(), 100);
    await expect(pending).rejects.toThrow(RetainClearError);
    await expect(pending).rejects.toThrow(/lost the connection to 127\.0\.0\.1:\d+ while looking for retained messages/);
  });
});

// ---- clear ------------------------------------------------------------------------------------

describe('clear', () => {
  it('sends one empty retained QoS 1 publish per topic and reports progress', async () => {
    const f = await fake();
    const topics = Array.from({ length: 50 }, (_, i) => `eg/${i}`);
    seed(f, topics);
    const conn = await open(f.port);
    const progress: number[] = [];
    const r = await clear(conn, topics, { onProgress: (done, total) => progress.push(done * 1000 + total) });
    expect(r).toEqual({ acknowledged: 50, refused: [] });
    expect(f.retained.size).toBe(0);
    expect([...f.publishes].sort()).toEqual([...topics].sort());
    expect(progress.at(-1)).toBe(50 * 1000 + 50);
  });

  it('nothing to clear resolves at once', async () => {
    const f = await fake();
    const conn = await open(f.port);
    expect(await clear(conn, [])).toEqual({ acknowledged: 0, refused: [] });
    expect(f.publishes).toEqual([]);
  });

  it('keeps at most `window` publishes awaiting PUBACK (pipelined, not one at a time)', async () => {
    const f = await fake({ holdAcks: true });
    const topics = Array.from({ length: 40 }, (_, i) => `w/${i}`);
    const conn = await open(f.port, 4);
    const pending = clear(conn, topics, { window: 8 });
    // Release the acknowledgements in rounds: each round frees the window for the next 8.
    for (let round = 0; round < 10 && f.publishes.length < 40; round++) {
      await new Promise((r) => setTimeout(r, 30));
      f.release();
    }
    await new Promise((r) => setTimeout(r, 30));
    f.release();
    expect(await pending).toEqual({ acknowledged: 40, refused: [] });
    expect(f.maxOutstanding).toBe(8);
  });

  it("never exceeds the broker's Receive Maximum (5.0 section 3.2.2.3.3)", async () => {
    const f = await fake({ holdAcks: true, connack: { receiveMaximum: 3 } });
    const topics = Array.from({ length: 12 }, (_, i) => `r/${i}`);
    const conn = await open(f.port);
    const pending = clear(conn, topics, { window: 100 });
    while (f.publishes.length < 12) {
      await new Promise((r) => setTimeout(r, 20));
      f.release();
    }
    await new Promise((r) => setTimeout(r, 20));
    f.release();
    await pending;
    expect(f.maxOutstanding).toBe(3);
  });

  it('collects PUBACK refusals (5.0 reason code ≥ 0x80) and acknowledges the rest', async () => {
    const f = await fake({ puback: (t) => (t.startsWith('ro/') ? 0x87 : 0) });
    seed(f, ['ro/a', 'rw/b']);
    const conn = await open(f.port);
    const r = await clear(conn, ['ro/a', 'rw/b']);
    expect(r).toEqual({ acknowledged: 1, refused: [{ topic: 'ro/a', reasonCode: 0x87 }] });
    expect([...f.retained.keys()]).toEqual(['ro/a']);
  });

  it('rejects with RetainClearError, saying how far it got, when the connection drops', async () => {
    const f = await fake({ closeAfterPublishes: 5 });
    const conn = await open(f.port, 4);
    await expect(clear(conn, Array.from({ length: 20 }, (_, i) => `d/${i}`), { window: 2 })).rejects.toThrow(/lost the connection .* while clearing; \d+ of 20 acknowledged/);
  });
});

// ---- verify -----------------------------------------------------------------------------------

describe('verify', () => {
  it('reports the cleared topics the broker kept, and new ones that appeared', async () => {
    const f = await fake({ keeps: (t) => t === 'eg/stubborn' });
    seed(f, ['eg/a', 'eg/stubborn', 'eg/skip/x']);
    const conn = await open(f.port);
    const topics = ['eg/a', 'eg/stubborn'];
    await clear(conn, topics);
    f.retained.set('eg/new', { payload: Buffer.from('n') });
    const v = await verify(conn, ['eg/#'], topics, FAST, { exclude: ['eg/skip/#'] });
    expect(v.stillRetained.map((m) => m.topic)).toEqual(['eg/stubborn']);
    // eg/skip/x was excluded: it is neither "still retained" nor "appeared".
    expect(v.appeared.map((m) => m.topic)).toEqual(['eg/new']);
    expect(v.timedOut).toBe(false);
  });
});

// ---- the whole cycle against our broker, MQTT 5 and 3.1.1 --------------------------------------

describe.each([5, 4] as const)('discover, clear, verify against mqt broker (protocol level %i)', (version) => {
  let broker: StartedBroker;
  let seeder: MqttClient;
  beforeAll(async () => {
    broker = await startBroker();
    seeder = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await seeder.endAsync();
    await broker.stop();
  });

  it('clears 500 retained topics under the filter and none outside it', async () => {
    const root = `v${version}`;
    for (let i = 0; i < 500; i++) seeder.publish(`${root}/in/${i}`, `p${i}`, { qos: 0, retain: true });
    for (let i = 0; i < 20; i++) seeder.publish(`${root}/out/${i}`, 'o', { qos: 0, retain: true });
    // One QoS 1 publish after the rest: its PUBACK means the broker has stored them all.
    await seeder.publishAsync(`${root}/barrier`, 'b', { qos: 1 });

    const conn = await open(broker.port, version);
    const found = await discover(conn, [`${root}/in/#`], FAST);
    expect(found.messages).toHaveLength(500);
    const topics = found.messages.map((m) => m.topic);
    const cleared = await clear(conn, topics);
    expect(cleared).toEqual({ acknowledged: 500, refused: [] });
    const v = await verify(conn, [`${root}/in/#`], topics, FAST);
    expect(v.stillRetained).toEqual([]);

    const fresh = await open(broker.port);
    const left = await discover(fresh, [`${root}/#`], FAST);
    expect(left.messages.map((m) => m.topic).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `${root}/out/${i}`).sort());
  });
});

// ---- rendering ----------------------------------------------------------------------------------

describe('retain-clear output', () => {
  const plain = new Chalk({ level: 0 });
  const summary = (selected: number, extra: Partial<FoundSummary> = {}): FoundSummary => ({ filters: ['eg/#'], selected, excluded: 0, unmatched: 0, ...extra });

  it('numbers, sizes and durations for people', () => {
    expect(count(1284)).toBe('1,284');
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['0 B', '1023 B', '1.5 KiB', '3.0 MiB']);
    expect([formatDuration(59), formatDuration(61), formatDuration(3725), formatDuration(90_000)]).toEqual(['59s', '1m 1s', '1h 2m', '1d 1h']);
    expect([filterPhrase(['a/#']), filterPhrase(['a/#', 'b']), filterPhrase(['a', 'b', 'c'])]).toEqual(['a/#', 'a/# and b', 'a, b and c']);
  });

  it('says when the hard timeout, not a quiet period, ended a pass', () => {
    expect(timeoutNote(30, 'looking')).toBe('retained messages were still arriving after --timeout 30 s; there may be more than listed (raise --timeout)');
    expect(timeoutNote(2.5, 'verifying')).toContain('while verifying');
  });

  it('asks the question of the issue', () => {
    expect(question(1284, ['eg/#'])).toBe('Clear 1,284 retained messages under eg/#?');
    expect(question(1, ['eg/#', 'x'])).toBe('Clear 1 retained message under eg/# and x?');
  });

  it('a pipe gets every topic on its own line', () => {
    expect(listing([msg('a'), msg('b/c')], summary(2), { terminal: false, chalk: plain })).toBe('a\nb/c\n');
  });

  it('a terminal gets a table trimmed with "… and N more", expiry shown when known', () => {
    const messages = Array.from({ length: 30 }, (_, i) => ({ ...msg(`eg/${i}`, 10), ...(i === 0 ? { expiresInS: 125 } : {}) }));
    const text = listing(messages, summary(30, { excluded: 2 }), { terminal: true, chalk: plain, limit: 5 });
    expect(text.split('\n')).toEqual([
      '30 retained messages under eg/# (2 excluded by --exclude):',
      '  eg/0  10 B  expires in 2m 5s',
      '  eg/1  10 B',
      '  eg/2  10 B',
      '  eg/3  10 B',
      '  eg/4  10 B',
      '  … and 25 more',
      '',
    ]);
    // One hidden row would cost as much as "… and 1 more": show it instead.
    expect(listing(messages.slice(0, 6), summary(6), { terminal: true, chalk: plain, limit: 5 })).not.toContain('more');
  });

  it('a topic with control characters is shown quoted, never raw, on a terminal', () => {
    expect(listing([msg('a\u001b[2Jb')], summary(1), { terminal: true, chalk: plain })).toContain('"a\\u001b[2Jb"');
  });

  it('the summary line says cleared N, still retained M, with what went wrong', () => {
    expect(summaryLine({ selected: 1284, stillRetained: [], refused: [], appeared: 0 })).toBe('cleared 1,284, still retained 0');
    expect(summaryLine({ selected: 5, stillRetained: [msg('a'), msg('b'), msg('c'), msg('d')], refused: [{ topic: 'a', reasonCode: 0x87 }], appeared: 1 })).toBe(
      "cleared 1, still retained 4 ('a', 'b', 'c', …); 1 refused by the broker: Not authorized (0x87); 1 new retained message appeared meanwhile, not cleared",
    );
  });

  it('--json is one object: counts, every message with its payload, and the outcome once cleared', () => {
    const messages: RetainedMessage[] = [
      { topic: 'a', bytes: 2, qos: 1, payload: Buffer.from('hi'), expiresInS: 60 },
      { topic: 'b', bytes: 2, qos: 0, payload: Buffer.from([0xff, 0x00]) },
    ];
    const base = { filters: ['#'], found: 3, excluded: 1, unmatched: 0, messages, ignored: 4, timedOut: false, refusedFilters: [{ filter: 's/#', reasonCode: 0x87 }], dryRun: false };
    const dry = JSON.parse(jsonReport({ ...base, dryRun: true })) as Record<string, unknown>;
    expect(dry).toEqual({
      filters: ['#'],
      found: 3,
      selected: 2,
      excluded: 1,
      unmatched: 0,
      ignored: 4,
      timedOut: false,
      refusedFilters: [{ filter: 's/#', reasonCode: 0x87, reason: 'Not authorized' }],
      dryRun: true,
      messages: [
        { topic: 'a', bytes: 2, qos: 1, payload: 'hi', expiresIn: 60 },
        { topic: 'b', bytes: 2, qos: 0, payload: '/wA=', encoding: 'base64' },
      ],
    });
    const done = JSON.parse(jsonReport({ ...base, clear: { selected: 2, stillRetained: [messages[1]!], refused: [{ topic: 'b', reasonCode: 0x87 }], appeared: 0 } })) as Record<string, unknown>;
    expect(done).toMatchObject({ cleared: 1, stillRetained: 1, stillRetainedTopics: ['b'], refused: [{ topic: 'b', reasonCode: 0x87, reason: 'Not authorized' }], appeared: 0 });
    expect(jsonReport(base).endsWith('}\n')).toBe(true);
    expect(jsonReport(base).split('\n')).toHaveLength(2);
  });
});
