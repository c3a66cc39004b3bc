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
    ['--debug', 'broker', '--verbose'],
    ['-d', 'broker', '--port', '01883'],
    ['broker', '--host', 'broker', '--json'],
  ];

  it.each(plain.map((argv) => [argv.join(' '), argv] as const))('takes `mqt %s` as the whole CLI does', async (_line, argv) => {
    const quick = quickBrokerArgs(argv);
    expect(quick).toBeDefined();
    expect(quick).toEqual(await yargsOptions(argv));
  });

  it('fills the defaults yargs fills: port 1883 on loopback, nothing else set', () => {
    expect(quickBrokerArgs(['broker'])).toEqual({
      port: 1883,
      host: '127.0.0.1',
      wsPort: undefined,
      maxInflight: undefined,
      maxQueued: undefined,
      maxPacketSize: undefined,
      maxKeepalive: undefined,
      verbose: false,
      json: false,
      debug: false,
    });
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
    ['broker', '-v', '--verbose'],
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
  ];

  it.each(others.map((argv) => [argv.join(' '), argv] as const))('leaves `mqt %s` to yargs', (_line, argv) => {
    expect(quickBrokerArgs(argv)).toBeUndefined();
  });

  it('leaves to yargs forms that yargs still runs the broker with', async () => {
    for (const argv of [['broker', '-p1884'], ['broker', '-vd'], ['broker', '--wsPort', '9001']]) {
      runBroker.mockClear();
      expect(await yargsOptions(argv)).toMatchObject(argv[1] === '-p1884' ? { port: 1884 } : argv[1] === '-vd' ? { verbose: true, debug: true } : { wsPort: 9001 });
    }
  });
});
