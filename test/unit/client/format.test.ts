import { describe, expect, it } from 'vitest';
import {
  compileFormat,
  formatDefault,
  FormatError,
  renderFormat,
  viewPayload,
  type RenderOptions,
} from '../../../src/core/client/format.js';
import { jsonRecord, mosquittoJson } from '../../../src/core/client/json-output.js';
import { isPrintableUtf8, messageFromPacket, type ReceivedMessage } from '../../../src/core/client/message.js';
import { skipReason } from '../../../src/core/client/sub-filters.js';
import { isoUtc, mosquittoTimestamp, strftimeChar, type ReceivedTime } from '../../../src/core/client/time-format.js';

/**
 * The expected strings come from mosquitto_sub 2.0.11 run by hand on the same message where
 * mosquitto's output does not depend on the clock (the rows marked "mosquitto"), from
 * mosquitto_sub(1) OUTPUT FORMAT, and from glibc strftime(3) in the C locale for the times.
 * Time: 2016-08-10T08:47:38.786368637Z, shown in a zone one hour east (the man page example).
 */
const TIME: ReceivedTime = { seconds: 1470818858, nanos: 786368637, offsetMinutes: 60, zone: 'CET' };

function msg(overrides: Partial<ReceivedMessage> = {}): ReceivedMessage {
  return { topic: 'a/b', payload: Buffer.from('abc'), qos: 0, retain: true, messageId: 0, received: TIME, ...overrides };
}

/** A QoS 1 message carrying every PUBLISH property mosquitto's -F can show. */
const V5 = msg({
  topic: 'eg/v5',
  payload: Buffer.from('{"t":21.5}'),
  qos: 1,
  retain: false,
  messageId: 7,
  properties: {
    payloadFormatIndicator: 1,
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    responseTopic: 'eg/reply',
    correlationData: Buffer.from('req-42'),
    subscriptionIdentifiers: [5, 9],
    topicAlias: 3,
    userProperties: [['k', 'v'], ['k', 'w'], ['unit', '°C']],
  },
});

const PLAIN: RenderOptions = { eol: false, binaryAsHex: false, pretty: false };

function render(format: string, message: ReceivedMessage = msg(), options: Partial<RenderOptions> = {}): string {
  return renderFormat(compileFormat(format), message, { ...PLAIN, ...options }).output.toString('utf8');
}

describe('-F: every % specifier (mosquitto_sub(1) OUTPUT FORMAT)', () => {
  const rows: [format: string, message: ReceivedMessage, expected: string][] = [
    ['%t', msg(), 'a/b'],
    ['%p', msg(), 'abc'],
    ['%x', msg({ payload: Buffer.from([0x00, 0xab, 0xff]) }), '00abff'],
    ['%X', msg({ payload: Buffer.from([0x00, 0xab, 0xff]) }), '00ABFF'],
    ['%l', msg(), '3'],
    ['%q', V5, '1'],
    ['%r', msg(), '1'],
    ['%r', V5, '0'],
    ['%m', V5, '7'],
    ['%m', msg(), '0'], // QoS 0 has no packet id; mosquitto prints 0
    ['%I', msg(), '2016-08-10T09:47:38+0100'], // the man page's example
    ['%U', msg(), '1470818858.786368637'],
    ['%A', V5, '3'],
    ['%C', V5, 'application/json'],
    ['%D', V5, 'req-42'],
    ['%E', V5, '3600'],
    ['%F', V5, '1'],
    ['%P', V5, 'k:v k:w unit:°C'], // every pair, duplicates kept, space separated
    ['%R', V5, 'eg/reply'],
    ['%S', V5, '5'], // the first Subscription Identifier, as mosquitto reads it
    ['%%', msg(), '%'],
    ['%5%', msg(), '%'], // mosquitto: a width on %% is ignored
    // MQTT 5 specifiers of a message without properties: nothing (mosquitto)
    ['[%A|%C|%D|%E|%F|%P|%R|%S]', msg(), '[|||||||]'],
  ];
  it.each(rows)('%s', (format, message, expected) => {
    expect(render(format, message)).toBe(expected);
  });
});

describe('-F: flags, width and precision', () => {
  const rows: [format: string, message: ReceivedMessage, expected: string][] = [
    // Each row below was printed by mosquitto_sub 2.0.11 for topic a/b, payload "abc", retained.
    ['[%5p]', msg(), '[  abc]'],
    ['[%-5p]', msg(), '[abc  ]'],
    ['[%2p]', msg(), '[ab]'], // a width also cuts the payload (mosquitto write_payload)
    ['[%05p]', msg(), '[00abc]'],
    ['[%.1p]', msg(), '[abc]'], // precision is ignored for the payload
    ['[%-6x]', msg(), '[616263]'],
    ['[%2x]', msg(), '[61]'],
    ['[%5t]', msg(), '[  a/b]'],
    ['[%-5t|%.2t|%5.1t]', msg(), '[a/b  |a/|    a]'],
    ['[%-05.3t]', msg(), '[a/b  ]'],
    ['[%05l|%-4l|%3q|%3r]', msg(), '[00003|3   |0|1]'], // no width for %q and %r
    ['[%10.3I]', msg(), '[       201]'],
    ['[%3A|%03E|%5C|%5R|%-3S|%03F]', msg(), '[   |000|     ||   |000]'], // absent: blanks (none for %R)
    // Where we part from mosquitto on purpose (see formatPayload): hex widths count output characters.
    ['[%7x]', msg(), '[ 616263]'],
    ['[%-p]', msg(), '[abc]'],
    ['[%8X]', msg({ payload: Buffer.from([1, 2, 3, 4, 5]) }), '[01020304]'],
    // Widths count characters, not bytes, so non-ASCII topics line up.
    ['[%5t]', msg({ topic: 'ä/ö' }), '[  ä/ö]'],
    ['[%.2t]', msg({ topic: '€€€' }), '[€€]'],
    // Numbers
    ['[%4m|%-4m|%04m]', V5, '[   7|7   |0007]'],
    ['[%6E|%-6A|%02F|%3S]', V5, '[  3600|3     |01|  5]'],
    ['[%20C]', V5, '[    application/json]'],
    ['[%.5C|%-10.2R]', V5, '[appli|eg        ]'],
  ];
  it.each(rows)('%s', (format, message, expected) => {
    expect(render(format, message)).toBe(expected);
  });
});

describe('-F: escapes and time sequences', () => {
  const rows: [format: string, expected: string][] = [
    ['\\\\', '\\'],
    ['a\\0b', 'a\0b'],
    ['\\a', '\x07'],
    ['\\e[92m%t\\e[0m', '\x1b[92ma/b\x1b[0m'], // mosquitto's colour example
    ['%t\\n%p', 'a/b\nabc'],
    ['\\r', '\r'],
    ['%t\\t%p', 'a/b\tabc'],
    ['\\v', '\v'],
    ['@@', '@'],
    ['@N', '786368637'],
    ['@s.@N', '1470818858.786368637'],
    ['@Y-@m-@dT@H:@M:@S@z', '2016-08-10T09:47:38+0100'], // the man page's example
    ['@a @A @b @B @h', 'Wed Wednesday Aug August Aug'],
    ['@c', 'Wed Aug 10 09:47:38 2016'],
    ['@C @y @D @x @e', '20 16 08/10/16 08/10/16 10'],
    ['@F @T @X @R', '2016-08-10 09:47:38 09:47:38 09:47'],
    ['@I @l @k @p @P @r', '09  9  9 AM am 09:47:38 AM'],
    ['@j @u @w @U @W @V @G @g', '223 3 3 32 32 32 2016 16'],
    ['@z @Z', '+0100 CET'],
    ['@n@t@%', '\n\t%'],
    ['@Q', '%Q'], // glibc copies an unknown conversion; so did mosquitto_sub 2.0.11
    ['plain text with ü', 'plain text with ü'],
  ];
  it.each(rows)('%s', (format, expected) => {
    expect(render(format)).toBe(expected);
  });

  it('strftime handles week-year corners (2021-01-01 belongs to ISO week 53 of 2020)', () => {
    const t: ReceivedTime = { seconds: Date.UTC(2021, 0, 1, 12) / 1000, nanos: 0, offsetMinutes: 0, zone: 'UTC' };
    expect(['V', 'G', 'g', 'U', 'W', 'j', 'u'].map((c) => strftimeChar(c, t))).toEqual(['53', '2020', '20', '00', '00', '001', '5']);
  });

  it('a negative offset and midnight: hours 00, 12-hour clock 12', () => {
    const t: ReceivedTime = { seconds: Date.UTC(2024, 1, 29, 5, 30) / 1000, nanos: 5, offsetMinutes: -330, zone: 'X' };
    expect(['F', 'H', 'I', 'p', 'z'].map((c) => strftimeChar(c, t))).toEqual(['2024-02-29', '00', '12', 'AM', '-0530']);
    expect(render('%U', msg({ received: t }))).toBe(`${t.seconds}.000000005`);
  });
});

describe('-F: validation at start-up, as mosquitto_sub rejects bad formats before connecting', () => {
  const rows: [format: string, message: RegExp][] = [
    ['%z', /invalid format specifier '%z'/],
    ['[%]', /invalid format specifier '%]'/],
    ['%.', /incomplete format specifier/],
    ['%0-5l', /invalid format specifier '%-'/], // '-' must come before '0'
    ['x%', /incomplete format specifier/],
    ['%-', /incomplete format specifier/],
    ['x@', /incomplete format specifier/],
    ['\\q', /invalid escape specifier '\\q'/],
    ['\\x', /invalid escape specifier '\\x'/],
    ['x\\', /incomplete escape specifier/],
  ];
  it.each(rows)('%s is refused', (format, message) => {
    expect(() => compileFormat(format)).toThrow(FormatError);
    expect(() => compileFormat(format)).toThrow(message);
  });

  it('an empty format prints an empty line', () => {
    expect(render('', msg(), { eol: true })).toBe('\n');
  });
});

describe('-F: rendering options', () => {
  it('appends a newline unless -N', () => {
    expect(render('%t', msg(), { eol: true })).toBe('a/b\n');
    expect(render('%t', msg(), { eol: false })).toBe('a/b');
  });

  it('%p passes binary bytes through in a pipe', () => {
    const payload = Buffer.from([0x00, 0x1b, 0xff]);
    const out = renderFormat(compileFormat('%p'), msg({ payload }), PLAIN).output;
    expect(out.equals(payload)).toBe(true);
  });

  it('%p and %D show binary as hex on a terminal (binaryAsHex), text stays text', () => {
    const binary = msg({ payload: Buffer.from([0x00, 0x1b, 0xff]), properties: { correlationData: Buffer.from([0x80, 0x01]) } });
    expect(render('%p|%D', binary, { binaryAsHex: true })).toBe('001bff|8001');
    expect(render('%p|%D', V5, { binaryAsHex: true })).toBe('{"t":21.5}|req-42');
  });

  it('%J of a payload that is not JSON prints nothing and warns with the topic (mosquitto)', () => {
    const r = renderFormat(compileFormat('[%J]'), msg(), PLAIN);
    expect(r.output.toString()).toBe('[]');
    expect(r.warnings).toEqual(['payload is not valid JSON on topic a/b']);
    expect(renderFormat(compileFormat('%t'), msg(), PLAIN).warnings).toEqual([]);
  });
});

describe('%j and %J: mosquitto_sub JSON', () => {
  it('%j: tst, topic, qos, retain, payloadlen, payload (mosquitto 2.0.11 layout)', () => {
    expect(render('%j')).toBe('{"tst":"2016-08-10T09:47:38.786368Z+0100","topic":"a/b","qos":0,"retain":1,"payloadlen":3,"payload":"abc"}');
  });

  it('%j: mid for QoS > 0, properties by mosquitto name, duplicate keys kept in order', () => {
    expect(render('%j', V5)).toBe(
      '{"tst":"2016-08-10T09:47:38.786368Z+0100","topic":"eg/v5","qos":1,"retain":0,"payloadlen":10,"mid":7,' +
        '"properties":{"payload-format-indicator":1,"message-expiry-interval":3600,"content-type":"application/json",' +
        '"response-topic":"eg/reply","correlation-data":"req-42","subscription-identifier":5,"subscription-identifier":9,' +
        '"topic-alias":3,"user-properties":{"k":"v","k":"w","unit":"°C"}},"payload":"{\\"t\\":21.5}"}',
    );
  });

  it('%J embeds a JSON payload as a value, re-serialised compactly as cJSON does', () => {
    const m = msg({ topic: 'j', payload: Buffer.from('{ "a" : 1.50, "b":[1, 2] }') });
    // mosquitto_sub 2.0.11 printed exactly this payload part for the same message.
    expect(render('%J', m)).toBe('{"tst":"2016-08-10T09:47:38.786368Z+0100","topic":"j","qos":0,"retain":1,"payloadlen":26,"payload":{"a":1.5,"b":[1,2]}}');
  });

  it('%j: empty payload is null; non-UTF-8 payload is an array of byte values', () => {
    expect(render('%j', msg({ payload: Buffer.alloc(0) }))).toMatch(/"payloadlen":0,"payload":null}$/);
    expect(render('%j', msg({ payload: Buffer.from([0, 1, 0xff]) }))).toMatch(/"payload":\[0,1,255\]}$/);
    expect(render('%j', msg({ payload: Buffer.from('Ċ\n') }))).toMatch(/"payload":"Ċ\\n"}$/);
  });

  it('--pretty indents as cJSON_Print: tabs, "key":<TAB>value (mosquitto 2.0.11 output)', () => {
    expect(render('%j', msg(), { pretty: true })).toBe(
      '{\n\t"tst":\t"2016-08-10T09:47:38.786368Z+0100",\n\t"topic":\t"a/b",\n\t"qos":\t0,\n\t"retain":\t1,\n\t"payloadlen":\t3,\n\t"payload":\t"abc"\n}',
    );
    const m = msg({ payload: Buffer.from('{"a":[1,2],"o":{}}'), properties: { contentType: 'x' } });
    expect(mosquittoJson(m, false, true)).toBe(
      '{\n\t"tst":\t"2016-08-10T09:47:38.786368Z+0100",\n\t"topic":\t"a/b",\n\t"qos":\t0,\n\t"retain":\t1,\n\t"payloadlen":\t18,\n' +
        '\t"properties":\t{\n\t\t"content-type":\t"x"\n\t},\n\t"payload":\t{\n\t\t"a":\t[1, 2],\n\t\t"o":\t{\n\t\t}\n\t}\n}',
    );
  });

  it('the tst field is local time with microseconds, a literal Z, then the offset (mosquitto quirk)', () => {
    expect(mosquittoTimestamp({ seconds: 0, nanos: 999_999, offsetMinutes: -60, zone: 'X' })).toBe('1969-12-31T23:00:00.000999Z-0100');
  });
});

describe('--json record', () => {
  it('topic, payload, qos, retain, received (UTC ISO); no messageId at QoS 0; no properties without any', () => {
    const line = jsonRecord(msg());
    expect(line).toBe('{"topic":"a/b","payload":"abc","qos":0,"retain":true,"received":"2016-08-10T08:47:38.786Z"}');
    expect(line).not.toContain('\n');
  });

  it('MQTT 5 properties by camelCase name, user properties as ordered pairs, messageId at QoS 1', () => {
    expect(JSON.parse(jsonRecord(V5))).toEqual({
      topic: 'eg/v5',
      payload: '{"t":21.5}',
      qos: 1,
      retain: false,
      received: '2016-08-10T08:47:38.786Z',
      messageId: 7,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 3600,
        contentType: 'application/json',
        responseTopic: 'eg/reply',
        correlationData: 'req-42',
        subscriptionIdentifiers: [5, 9],
        topicAlias: 3,
        userProperties: [['k', 'v'], ['k', 'w'], ['unit', '°C']],
      },
    });
  });

  it('a payload that is not valid UTF-8 is base64 with encoding: "base64"; so is binary correlation data', () => {
    const m = msg({ payload: Buffer.from([0xff, 0x00, 0x41]), properties: { correlationData: Buffer.from([0xc3]) } });
    expect(JSON.parse(jsonRecord(m))).toMatchObject({
      payload: '/wBB',
      encoding: 'base64',
      properties: { correlationData: 'ww==', correlationDataEncoding: 'base64' },
    });
    expect(Buffer.from('/wBB', 'base64')).toEqual(m.payload);
  });

  it('valid UTF-8 with control characters stays text (JSON escapes it), newlines never split the line', () => {
    const line = jsonRecord(msg({ payload: Buffer.from('a\nb\x1b') }));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line).payload).toBe('a\nb\x1b');
    expect(JSON.parse(line).encoding).toBeUndefined();
  });

  it('isoUtc keeps milliseconds', () => {
    expect(isoUtc({ seconds: 1, nanos: 2_999_999, offsetMinutes: 120, zone: 'X' })).toBe('1970-01-01T00:00:01.002Z');
  });
});

describe('default output (mosquitto_sub without -F)', () => {
  const pipe = { verbose: false, eol: true, binaryAsHex: false, pretty: false };
  const rows: [name: string, message: ReceivedMessage, options: typeof pipe, expected: string][] = [
    ['payload only', msg(), pipe, 'abc\n'],
    ['-v: topic and payload', msg(), { ...pipe, verbose: true }, 'a/b abc\n'],
    ['-N: no newline', msg(), { ...pipe, eol: false }, 'abc'],
    ['empty payload prints nothing', msg({ payload: Buffer.alloc(0) }), pipe, ''],
    ['empty payload with -v: (null)', msg({ payload: Buffer.alloc(0) }), { ...pipe, verbose: true }, 'a/b (null)\n'],
    ['empty payload with -v -N: nothing', msg({ payload: Buffer.alloc(0) }), { ...pipe, verbose: true, eol: false }, ''],
    ['binary as hex on a terminal', msg({ payload: Buffer.from([0, 255]) }), { ...pipe, binaryAsHex: true }, '00ff\n'],
    ['--pretty re-indents a JSON object', msg({ payload: Buffer.from('{"a":1}') }), { ...pipe, pretty: true }, '{\n  "a": 1\n}\n'],
    ['--pretty leaves a bare number alone', msg({ payload: Buffer.from('1.50') }), { ...pipe, pretty: true }, '1.50\n'],
  ];
  it.each(rows)('%s', (_name, message, options, expected) => {
    expect(formatDefault(message, options).toString('utf8')).toBe(expected);
  });

  it('binary passes through raw in a pipe', () => {
    const payload = Buffer.from([0, 0xff, 0x0a]);
    expect(formatDefault(msg({ payload }), pipe).equals(Buffer.concat([payload, Buffer.from('\n')]))).toBe(true);
  });
});

describe('binary detection', () => {
  const rows: [name: string, bytes: number[] | string, printable: boolean][] = [
    ['ASCII text', 'hello 21.5', true],
    ['UTF-8 text', 'Grüße €', true],
    ['tab, newline, carriage return', 'a\tb\r\nc', true],
    ['empty', '', true],
    ['NUL', [0x61, 0x00], false],
    ['ESC (terminal control)', [0x1b, 0x5b, 0x32, 0x4a], false],
    ['DEL', [0x7f], false],
    ['C1 control U+009B (CSI)', [0xc2, 0x9b], false],
    ['U+00A0 is fine', [0xc2, 0xa0], true],
    ['invalid UTF-8', [0xff, 0xfe], false],
    ['truncated UTF-8 sequence', [0xe2, 0x82], false],
  ];
  it.each(rows)('%s', (_name, bytes, printable) => {
    expect(isPrintableUtf8(typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes))).toBe(printable);
  });

  it('viewPayload: text, hex, raw and pretty JSON', () => {
    expect(viewPayload(Buffer.from('hi'), { binaryAsHex: true, pretty: false })).toEqual({ kind: 'text', text: 'hi' });
    expect(viewPayload(Buffer.from([1]), { binaryAsHex: true, pretty: false })).toEqual({ kind: 'hex', text: '01' });
    expect(viewPayload(Buffer.from([1]), { binaryAsHex: false, pretty: false })).toEqual({ kind: 'raw', bytes: Buffer.from([1]) });
    expect(viewPayload(Buffer.from('[1]'), { binaryAsHex: true, pretty: true })).toEqual({ kind: 'json', text: '[\n  1\n]' });
  });
});

describe('messageFromPacket (MQTT.js PUBLISH → message)', () => {
  it('maps MQTT.js property shapes onto the codec names', () => {
    const m = messageFromPacket(
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.from('x'),
        qos: 2,
        dup: false,
        retain: false,
        messageId: 12,
        properties: {
          payloadFormatIndicator: true,
          subscriptionIdentifier: 4,
          userProperties: { a: '1', b: ['2', '3'] },
          correlationData: Buffer.from('c'),
        },
      },
      TIME,
    );
    expect(m).toEqual({
      topic: 't',
      payload: Buffer.from('x'),
      qos: 2,
      retain: false,
      messageId: 12,
      received: TIME,
      properties: {
        payloadFormatIndicator: 1,
        subscriptionIdentifiers: [4],
        userProperties: [['a', '1'], ['b', '2'], ['b', '3']],
        correlationData: Buffer.from('c'),
      },
    });
  });

  it('QoS 0 has message id 0 and no properties object when there are none', () => {
    const m = messageFromPacket({ cmd: 'publish', topic: 't', payload: 'x', qos: 0, dup: false, retain: true, properties: {} }, TIME);
    expect(m.messageId).toBe(0);
    expect(m.properties).toBeUndefined();
    expect(m.payload).toEqual(Buffer.from('x'));
  });
});

describe('which messages sub shows (-R, -T)', () => {
  const rows: [topic: string, retain: boolean, filterOut: string[], noRetained: boolean, skip: ReturnType<typeof skipReason>][] = [
    ['a/b', false, [], false, undefined],
    ['a/b', true, [], false, undefined],
    ['a/b', true, [], true, 'retained'],
    ['a/b', false, ['a/#'], false, 'filtered-out'],
    ['a', false, ['a/#'], false, 'filtered-out'], // '#' includes the parent level [MQTT-4.7.1-2]
    ['a/b', false, ['a/+/c', 'x/#'], false, undefined],
    ['$SYS/x', false, ['#'], false, undefined], // [MQTT-4.7.2-1] '#' does not match '$' topics
    ['a/b', true, ['a/b'], true, 'retained'], // -R is checked first, as in mosquitto
  ];
  it.each(rows)('%s retain=%s -T %j -R=%s → %s', (topic, retain, filterOut, noRetained, skip) => {
    expect(skipReason({ topic, retain }, { filterOut, noRetained })).toBe(skip);
  });
});
