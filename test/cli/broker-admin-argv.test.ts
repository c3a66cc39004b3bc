/**
 * The admin flags of `mqt broker` mean the same to its quick parser (broker-argv.ts) and to
 * yargs; `mqt broker clients` and `mqt broker kick ID` are never the quick parser's and reach
 * their own handlers, with their own options and not the server's.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { quickBrokerArgs } from '../../src/commands/broker-argv.js';
import type { BrokerRunOptions } from '../../src/commands/broker-run.js';

const runBroker = vi.hoisted(() => vi.fn<(options: BrokerRunOptions) => Promise<void>>());
const runBrokerClients = vi.hoisted(() => vi.fn<(argv: Readonly<Record<string, unknown>>) => Promise<void>>());
const runBrokerKick = vi.hoisted(() => vi.fn<(argv: Readonly<Record<string, unknown>>) => Promise<void>>());
vi.mock('../../src/commands/broker-run.js', () => ({ runBroker }));
vi.mock('../../src/commands/broker-admin-run.js', () => ({ runBrokerClients, runBrokerKick }));

beforeEach(() => {
  for (const f of [runBroker, runBrokerClients, runBrokerKick]) f.mockReset().mockResolvedValue(undefined);
});

async function parse(argv: readonly string[]): Promise<void> {
  await buildCli([...argv]).parseAsync();
}

describe('mqt broker with the admin flags', () => {
  const lines: string[][] = [
    ['broker', '--port', '0', '--http-port', '0', '--admin-token-file', 'token'],
    ['broker', '--http-port=8080', '--http-host', '::1', '--metrics-public'],
    ['broker', '--http-port', '8443', '--http-cert', 'admin.crt', '--http-key', 'admin.key', '--password-file', 'passwd', '--admin-user', 'root', '--admin-user', 'ops,alice'],
  ];
  it.each(lines.map((argv) => [argv.join(' '), argv] as const))('takes `mqt %s` quickly, as yargs does', async (_line, argv) => {
    const quick = quickBrokerArgs(argv);
    expect(quick).toBeDefined();
    await parse(argv);
    expect(runBroker).toHaveBeenCalledTimes(1);
    expect(quick).toEqual(runBroker.mock.calls[0]![0]);
  });

  it('reads the admin flags into the plan fields', () => {
    const { flags } = quickBrokerArgs(lines[2]!)!;
    expect(flags).toMatchObject({ 'http-port': 8443, 'http-cert': 'admin.crt', 'http-key': 'admin.key', 'admin-user': ['root', 'ops', 'alice'] });
  });

  it('leaves --http-cert without --http-key, and an --http-port equal to --port, to yargs, which refuses them', async () => {
    for (const [argv, message] of [
      [['broker', '--http-port', '8443', '--http-cert', 'a.crt'], '--http-cert needs --http-key'],
      [['broker', '--port', '1884', '--http-port', '1884'], '--http-port must differ from --port'],
    ] as const) {
      expect(quickBrokerArgs(argv)).toBeUndefined();
      await expect(parse(argv)).rejects.toThrow(message);
    }
    expect(runBroker).not.toHaveBeenCalled();
  });
});

describe('mqt broker clients and kick', () => {
  it('are not the quick parser\'s', () => {
    expect(quickBrokerArgs(['broker', 'clients', '--http-port', '8080'])).toBeUndefined();
    expect(quickBrokerArgs(['broker', 'kick', 'x', '--http-port', '8080'])).toBeUndefined();
  });

  it('reach their handlers with their own options, not the server\'s checks', async () => {
    // --http-port 1883 is the server's default MQTT port: the broker's check would refuse it.
    await parse(['broker', 'clients', '--http-port', '1883', '--admin-token-file', 't', '--json']);
    expect(runBroker).not.toHaveBeenCalled();
    expect(runBrokerClients).toHaveBeenCalledTimes(1);
    expect(runBrokerClients.mock.calls[0]![0]).toMatchObject({ 'http-port': 1883, 'admin-token-file': 't', json: true });

    await parse(['broker', 'kick', '0042', '--url', 'https://b:8443', '-u', 'root', '-P', '']);
    expect(runBrokerKick).toHaveBeenCalledTimes(1);
    expect(runBrokerKick.mock.calls[0]![0]).toMatchObject({ id: '0042', url: 'https://b:8443', username: 'root', password: '' });
  });

  it('refuse the server\'s flags and a bad port, naming the subcommand', async () => {
    await expect(parse(['broker', 'clients', '--max-inflight', '5'])).rejects.toMatchObject({ message: expect.stringMatching(/^unknown option --max-inflight/), command: 'broker clients' });
    await expect(parse(['broker', 'kick', 'x', '--http-port', 'abc'])).rejects.toMatchObject({ message: "--http-port must be a whole number from 1 to 65535, got 'abc'", command: 'broker kick' });
    await expect(parse(['broker', 'kick'])).rejects.toMatchObject({ command: 'broker kick' });
    expect(runBrokerClients).not.toHaveBeenCalled();
    expect(runBrokerKick).not.toHaveBeenCalled();
  });
});
