import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { confirmation, failureText, jsonRecord, PublishTally, tally, TOPICS_COUNTED, type PublishResult } from '../../../src/commands/render/publish-report.js';
import { spinnerAllowed } from '../../../src/commands/render/spinner.js';
import { traceLine } from '../../../src/commands/render/trace.js';
import { asCliError } from '../../../src/commands/render/failure.js';
import { CliError, UsageError } from '../../../src/commands/errors.js';
import { OptionError } from '../../../src/commands/options/values.js';
import { ConfigError } from '../../../src/core/client/config.js';
import { ConnectError } from '../../../src/core/client/diagnose.js';
import { PayloadError } from '../../../src/core/client/payload.js';
import { PropertyError } from '../../../src/core/client/properties.js';

const plain = new Chalk({ level: 0 });
const result = (extra: Partial<PublishResult> = {}): PublishResult => ({ topic: 'heizung', qos: 1, retain: false, bytes: 4, messageId: 7, reasonCode: 0, ok: true, ...extra });

describe('jsonRecord', () => {
  it('writes one line with the fields in a fixed order', () => {
    expect(jsonRecord(result())).toBe('{"topic":"heizung","qos":1,"retain":false,"bytes":4,"messageId":7,"ok":true,"reasonCode":0,"reason":"Success"}\n');
    expect(jsonRecord(result({ reasonCode: 0x87, ok: false, reasonString: 'no', line: 3 }))).toBe(
      '{"topic":"heizung","qos":1,"retain":false,"bytes":4,"messageId":7,"line":3,"ok":false,"reasonCode":135,"reason":"Not authorized","reasonString":"no"}\n',
    );
    // A message that was never sent has no reason code, only the error.
    expect(jsonRecord(result({ messageId: undefined, reasonCode: undefined, ok: false, error: 'bad hex' }))).toBe('{"topic":"heizung","qos":1,"retain":false,"bytes":4,"ok":false,"error":"bad hex"}\n');
  });
});

describe('failureText', () => {
  it('names the topic, the reason and its code', () => {
    expect(failureText(result({ ok: false, reasonCode: 0x97, reasonString: 'over quota' }))).toBe("'heizung' refused by the broker: Quota exceeded (0x97): over quota");
    expect(failureText(result({ ok: false, reasonCode: undefined, error: 'bad', line: 2, topic: '' }))).toBe('line 2: bad');
    // A topic holding a newline cannot forge a second line.
    expect(failureText(result({ ok: false, reasonCode: 0x87, topic: 'a\nb\u001b[2J' }))).toBe("'a\\u000ab\\u001b[2J' refused by the broker: Not authorized (0x87)");
  });
});

describe('confirmation', () => {
  it('summarises what was published in one line', () => {
    expect(confirmation(tally([result({ qos: 2, retain: true })]), plain)).toBe('✔ published 1 message to heizung (QoS 2, retained)');
    expect(confirmation(tally([result(), result({ topic: 'b', reasonCode: 0x10 })]), plain)).toBe('✔ published 2 messages to heizung, b (QoS 1, 1 without subscribers)');
    expect(confirmation(tally([result({ reasonCode: 0x10 })]), plain)).toBe('✔ published 1 message to heizung (QoS 1, no subscribers)');
    expect(confirmation(tally(['a', 'b', 'c', 'd'].map((topic) => result({ topic, qos: 0 }))), plain)).toBe('✔ published 4 messages to 4 topics (QoS 0)');
    expect(confirmation(tally([result(), result({ ok: false, reasonCode: 0x87 })]), plain)).toBe('✔ published 1 message to heizung (QoS 1), 1 failed');
  });

  it('keeps counts, not messages: past TOPICS_COUNTED distinct topics it says "more than"', () => {
    const t = new PublishTally();
    for (let i = 0; i < TOPICS_COUNTED + 5; i++) t.add(result({ topic: `t/${i}` }));
    t.add(result({ ok: false, reasonCode: 0x87, topic: 'denied' }));
    t.add(result({ ok: false, error: 'bad line' }));
    expect(t.topics.size).toBe(TOPICS_COUNTED);
    expect([t.total, t.ok, t.failed, t.firstFailure?.topic]).toEqual([TOPICS_COUNTED + 7, TOPICS_COUNTED + 5, 2, 'denied']);
    expect(confirmation(t, plain)).toBe(`✔ published ${TOPICS_COUNTED + 5} messages to more than ${TOPICS_COUNTED} topics (QoS 1), 2 failed`);
  });
});

describe('spinnerAllowed', () => {
  it.each([
    [{ isTTY: true, env: {}, quiet: false }, true],
    [{ isTTY: false, env: {}, quiet: false }, false],
    [{ isTTY: true, env: { CI: 'true' }, quiet: false }, false],
    [{ isTTY: true, env: { CI: 'false' }, quiet: false }, true],
    [{ isTTY: true, env: {}, quiet: true }, false],
    [{ isTTY: true, columns: 0, env: {}, quiet: false }, false],
    [{ isTTY: true, columns: 80, env: {}, quiet: false }, true],
  ])('%o → %s', (input, expected) => {
    expect(spinnerAllowed(input)).toBe(expected);
  });
});

describe('traceLine', () => {
  it("speaks mosquitto's -d", () => {
    expect(traceLine('sent', { cmd: 'connect', protocolVersion: 5, clean: true, keepalive: 60, clientId: 'c', username: 'u' }, 'c')).toBe("Client c sending CONNECT (p5, c1, k60, u'u')");
    expect(traceLine('received', { cmd: 'connack', sessionPresent: false, reasonCode: 0 }, 'c')).toBe('Client c received CONNACK (0)');
    expect(traceLine('sent', { cmd: 'publish', topic: 't', payload: Buffer.from('abc'), qos: 1, retain: true, dup: false, messageId: 3 }, 'c')).toBe("Client c sending PUBLISH (d0, q1, r1, m3, 't', ... (3 bytes))");
    expect(traceLine('received', { cmd: 'puback', messageId: 3, reasonCode: 16 }, 'c')).toBe('Client c received PUBACK (m3, rc16)');
    expect(traceLine('sent', { cmd: 'disconnect' }, 'c')).toBe('Client c sending DISCONNECT');
  });
});

describe('asCliError', () => {
  it('maps each layer\'s error to the CLI\'s', () => {
    expect(asCliError(new OptionError('bad'), 'pub')).toEqual(new UsageError('bad', 'pub'));
    expect(asCliError(new PropertyError('bad'), 'pub')).toBeInstanceOf(UsageError);
    const refused = asCliError(new ConnectError('refused', { reasonCode: 0x86 }), 'sub') as CliError;
    expect([refused.message, refused.exitCode, refused.command]).toEqual(['refused', 0x86, 'sub']);
    expect((asCliError(new ConnectError('down', { code: 'ECONNREFUSED' }), 'pub') as CliError).exitCode).toBe(1);
    for (const e of [new ConfigError('c'), new PayloadError('p')]) {
      const mapped = asCliError(e, 'pub');
      expect(mapped).toBeInstanceOf(CliError);
      expect(mapped).not.toBeInstanceOf(UsageError);
    }
    const unexpected = new TypeError('bug');
    expect(asCliError(unexpected, 'pub')).toBe(unexpected);
  });
});
