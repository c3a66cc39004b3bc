/**
 * The text of `mqt broker clients` / `kick` and of the broker's admin start-up line, pinned
 * without a broker: the table's columns and alignment, ids that need quoting, IPv6 addresses,
 * colour only where chalk has it, and the admin record as text and JSON.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { ClientView } from '../../src/core/admin/index.js';
import { age, clientTable, clientsJson, kickedLine, localTime } from '../../src/commands/render/admin-clients.js';
import { jsonLine, textLine } from '../../src/commands/render/broker-log.js';

const plain = new Chalk({ level: 0 });
const NOW = new Date(2026, 0, 2, 12, 0, 0).getTime();

function client(id: string, over: Partial<ClientView> = {}): ClientView {
  return {
    clientId: id,
    username: 'alice',
    address: '127.0.0.1',
    port: 50_000,
    listener: 'tcp:1883',
    transport: 'tcp',
    protocolVersion: 5,
    keepAlive: 60,
    connectedAt: NOW - 90_000,
    subscriptions: 2,
    queued: 0,
    inflight: 0,
    buffered: 0,
    ...over,
  };
}

describe('clientTable', () => {
  it('lines up the columns, sorted by id, numbers to the right, with nothing after the last column', () => {
    const text = clientTable([client('b-sensor', { queued: 1234, inflight: 7 }), client('a', { username: null, protocolVersion: 4, keepAlive: 0, address: '::1', port: 1 })], plain, NOW);
    const since = `${localTime(NOW - 90_000)} (1m 30s)`;
    expect(text).toBe(
      [
        `CLIENT ID  USER   ADDRESS          LISTENER  PROTOCOL  KEEP-ALIVE  ${'CONNECTED SINCE'.padEnd(since.length)}  SUBS  QUEUED  IN FLIGHT`,
        `a          -      [::1]:1          tcp:1883  3.1.1            off  ${since}     2       0          0`,
        `b-sensor   alice  127.0.0.1:50000  tcp:1883  5.0              60s  ${since}     2    1234          7`,
        '',
      ].join('\n'),
    );
  });

  it('quotes an id or user that holds spaces or control characters, so a row cannot be forged', () => {
    const text = clientTable([client('evil\nCLIENT ID', { username: 'x y' })], plain, NOW);
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain('"evil\\nCLIENT ID"  "x y"');
  });

  it('says so when no client is connected', () => {
    expect(clientTable([], plain, NOW)).toBe('no clients connected\n');
  });

  it('makes the header bold only when colour is on, padding outside the codes', () => {
    const colour = clientTable([client('a')], new Chalk({ level: 1 }), NOW);
    expect(colour.startsWith('\u001b[1mCLIENT ID\u001b[22m  ')).toBe(true);
    expect(clientTable([client('a')], plain, NOW)).not.toContain('\u001b');
  });
});

describe('the other outputs', () => {
  it('--json is the API list on one line; kick prints one line', () => {
    const list = [client('a')];
    expect(clientsJson(list)).toBe(`${JSON.stringify(list)}\n`);
    expect(kickedLine('sensor-1', false)).toBe('disconnected sensor-1\n');
    expect(kickedLine('a b', false)).toBe('disconnected "a b"\n');
    expect(kickedLine('a b', true)).toBe('{"disconnected":"a b"}\n');
  });

  it('ages read as a person says them', () => {
    expect([age(0), age(59.9), age(61), age(3725), age(90_000)]).toEqual(['0s', '59s', '1m 1s', '1h 2m', '1d 1h']);
  });

  it('the admin start-up line, as text and as JSON', () => {
    const at = new Date(NOW);
    const url = 'http://127.0.0.1:8080/';
    expect(textLine(at, { event: 'admin', url, api: true, metrics: 'credentials' }, plain)).toBe(`mqt broker admin on ${url} (dashboard /, API /api/v1/, metrics /metrics)\n`);
    expect(textLine(at, { event: 'admin', url, api: true, metrics: 'public' }, plain)).toBe(`mqt broker admin on ${url} (dashboard /, API /api/v1/, metrics /metrics without credentials)\n`);
    expect(textLine(at, { event: 'admin', url, api: false, metrics: 'public' }, plain)).toBe(
      `mqt broker admin on ${url} (metrics /metrics without credentials; API off: give --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME)\n`,
    );
    expect(textLine(at, { event: 'admin', url, api: false, metrics: 'off' }, plain)).toBe(`mqt broker admin on ${url} (API and metrics off: give --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME)\n`);
    expect(jsonLine(at, { event: 'admin', url, api: false, metrics: 'off' })).toBe(`{"time":"${at.toISOString()}","event":"admin","url":"${url}","api":false,"metrics":"off"}\n`);
  });
});
