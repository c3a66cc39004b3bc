import { beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { quickBrokerArgs } from '../../src/commands/broker-argv.js';
import type { BrokerRunOptions } from '../../src/commands/broker-run.js';

// `mqt broker` starts from its quick parser (no yargs) when the command line is a plain one,
// and from yargs otherwise. The two must agree: every line the quick parser takes is parsed
// here by the whole CLI too, whose broker handler hands runBroker() what it would run with.

const runBroker = vi.hoisted(() => vi.fn<(options: BrokerRunOptions) => Promise<void>>());
vi.mock('../../src/commands/broker-run.js', () => ({ runBroker }));

beforeEach(() => runBroker.mockReset().mockResolvedValue(undefined));

/** What the whole CLI (yargs) runs the broker with for `argv`. */
async function yargsOptions(argv: readonly string[]): Promise<BrokerRunOptions> {
  await buildCli([...argv]).parseAsync();
  expect(runBroker).toHaveBeenCalledTimes(1);
  return runBroker.mock.calls[0]![0];
}

describe('quickBrokerArgs', () => {
  const plain: string[][] = [
    ['broker'],
    ['broker', '--port', '0'],
    ['broker', '-p', '1884', '--host', '0.0.0.0'],
    ['broker', '--port=1885', '--host=::1', '--ws-port', '9001'],
    ['broker', '--ws-port=0', '--port', '0'],
    ['broker', '--ws-port', '1883', '--port', '1884'],
    ['broker', '--max-inflight', '10', '--max-queued', '5000', '--max-packet-size', '1024', '--max-keepalive', '30'],
    ['broker', '--max-packet-size', '268435460', '--max-queued', '100000000'],
    ['broker', '-v', '--json', '-d'],
    // -v counts: twice is the PUBLISH lines' level.
    ['broker', '-vv', '--port', '0'],
    ['broker', '-v', '-v'],
    ['broker', '-v', '--verbose'],
    ['--debug', 'broker', '--verbose'],
    ['-d', 'broker', '--port', '01883'],
    ['broker', '--host', 'broker', '--json'],
    ['broker', '-c', 'mosquitto.conf'],
    ['broker', '--config-file=/etc/mosquitto/mosquitto.conf', '--check'],
    ['broker', '--tls-port', '8883', '--cert', 'server.crt', '--key', 'server.key', '--cafile', 'ca.crt', '--require-certificate'],
    ['broker', '--wss-port', '0', '--cert', 'c.pem', '--key', 'k.pem', '--capath', 'cas', '--use-identity-as-username', '--tls-version', 'tlsv1.3'],
    ['broker', '--password-file', 'passwd', '--acl-file', 'acl', '--allow-anonymous', 'true'],
    ['broker', '--allow-anonymous=false', '--allow-from', '127.0.0.0/8', '--allow-from', '::1,10.0.0.0/8', '--deny-from', '127.0.0.2'],
    ['broker', '--max-connections', '1000', '--max-subscriptions', '50', '--max-topic-levels', '8', '--max-queue-memory', '512M'],
    ['broker', '--max-queue-memory', '1048576'],
  ];

  it.each(plain.map((argv) => [argv.join(' '), argv] as const))('takes `mqt %s` as the whole CLI does', async (_line, argv) => {
    const quick = quickBrokerArgs(argv);
    expect(quick).toBeDefined();
    expect(quick).toEqual(await yargsOptions(argv));
  });

  it('leaves every flag not given undefined (a -c file\'s setting then stands) and the switches off', () => {
    const { flags, debug } = quickBrokerArgs(['broker'])!;
    expect(debug).toBe(false);
    expect(flags).toMatchObject({ check: false, verbose: 0, json: false });
    for (const [name, value] of Object.entries(flags)) if (!['check', 'verbose', 'json'].includes(name)) expect([name, value]).toEqual([name, undefined]);
  });

  it('reads sizes with k, M and G, and repeated lists in order', () => {
    expect(quickBrokerArgs(['broker', '--max-queue-memory', '2G'])!.flags['max-queue-memory']).toBe(2 * 1024 ** 3);
    expect(quickBrokerArgs(['broker', '--max-queue-memory', '64k'])!.flags['max-queue-memory']).toBe(65_536);
    expect(quickBrokerArgs(['broker', '--deny-from', '10.0.0.1', '--deny-from', '10.0.0.2,10.0.0.3'])!.flags['deny-from']).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  // Help, version, mistakes and forms it does not know: yargs prints the help or the error.
  const others: string[][] = [
    [],
    ['pub', '-t', 'x'],
    ['broker', '--help'],
    ['broker', '--version'],
    ['broker', 'extra'],
    ['broker', '--'],
    ['broker', '--port'],
    ['broker', '--port', 'abc'],
    ['broker', '--port', '70000'],
    ['broker', '--port', '-1'],
    ['broker', '--port', '1', '--port', '2'],
    ['broker', '--host', ''],
    ['broker', '--host', '-v'],
    ['broker', '--ws-port', '1883'],
    ['broker', '--max-inflight', '0'],
    ['broker', '--unknown'],
    ['--port', '1884', 'broker'],
    ['broker', '-p1884'],
    ['broker', '-vd'],
    ['broker', '--no-verbose'],
    ['broker', '--verbose=true'],
    ['broker', '--wsPort', '9001'],
    ['broker', '--tls-port', '8883'],
    ['broker', '--wss-port', '8884', '--cert', 'c.pem'],
    ['broker', '--key', 'k.pem'],
    ['broker', '--check'],
    ['broker', '--tls-port', '1883', '--cert', 'c', '--key', 'k', '--port', '1883'],
    ['broker', '--allow-anonymous', 'yes'],
    ['broker', '--tls-version', 'tlsv1.0'],
    ['broker', '--max-queue-memory', '12T'],
    ['broker', '--allow-from', '10.0.0.1,,10.0.0.2'],
    ['broker', '--require-certificate=true'],
    ['broker', '-c', 'a.conf', '-c', 'b.conf'],
  ];

  it.each(others.map((argv) => [argv.join(' '), argv] as const))('leaves `mqt %s` to yargs', (_line, argv) => {
    expect(quickBrokerArgs(argv)).toBeUndefined();
  });

  it('leaves to yargs forms that yargs still runs the broker with', async () => {
    for (const argv of [['broker', '-p1884'], ['broker', '-vd'], ['broker', '--wsPort', '9001']]) {
      runBroker.mockClear();
      expect(await yargsOptions(argv)).toMatchObject(argv[1] === '-p1884' ? { flags: { port: 1884 } } : argv[1] === '-vd' ? { flags: { verbose: 1 }, debug: true } : { flags: { 'ws-port': 9001 } });
    }
  });
});
