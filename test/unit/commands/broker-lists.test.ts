/**
 * Several brokers from the environment or the config file: a comma list in MQT_URL, or in a
 * profile's url, is the same list `-L a,b` gives, and a broker named on the command line
 * replaces it (as a flag replaces a single MQT_URL).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConnection, splitUrlLists } from '../../../src/commands/options/connection.js';

const home = mkdtempSync(join(tmpdir(), 'mqt-broker-lists-'));
mkdirSync(join(home, 'mqt'));
writeFileSync(join(home, 'mqt', 'config.json'), JSON.stringify({ profiles: { ha: { url: 'mqtt://p1:1884, mqtt://p2:1885' } } }));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function brokers(argv: Record<string, unknown>, env: Record<string, string>): Promise<string[]> {
  const group = await readConnection(argv, { command: 'pub', env: { XDG_CONFIG_HOME: home, ...env } });
  return group.brokers.map((b) => `${b.transport}://${b.host}:${b.port}`);
}

describe('broker lists from MQT_URL and profiles', () => {
  it('reads MQT_URL=a,b as two brokers, in order', async () => {
    expect(await brokers({}, { MQT_URL: 'mqtt://a:1883,mqtts://b' })).toEqual(['mqtt://a:1883', 'mqtts://b:8883']);
  });

  it("reads a profile's url list", async () => {
    expect(await brokers({ profile: 'ha' }, {})).toEqual(['mqtt://p1:1884', 'mqtt://p2:1885']);
  });

  it('lets a stronger layer replace the list: MQT_URL over the profile, -h or -L over MQT_URL', async () => {
    expect(await brokers({ profile: 'ha' }, { MQT_URL: 'mqtt://e:1883' })).toEqual(['mqtt://e:1883']);
    expect(await brokers({ host: 'flag' }, { MQT_URL: 'mqtt://a:1883,mqtt://b:1883' })).toEqual(['mqtt://flag:1883']);
    expect(await brokers({ url: 'mqtt://l:2000' }, { MQT_URL: 'mqtt://a:1883,mqtt://b:1883' })).toEqual(['mqtt://l:2000']);
  });

  it('refuses an empty entry or a bad URL in the list, in one line', async () => {
    await expect(brokers({}, { MQT_URL: 'mqtt://a:1883,,mqtt://b' })).rejects.toThrow(/^'mqtt:\/\/a:1883,,mqtt:\/\/b': an empty entry in the list of broker URLs/);
    await expect(brokers({}, { MQT_URL: 'mqtt://a:1883,b:1883' })).rejects.toThrow(/'b:1883' is not a broker URL/);
  });

  it('leaves layers without a list alone', () => {
    const layers = [{ url: 'mqtt://x' }, { host: 'h' }];
    expect(splitUrlLists(layers)).toEqual([]);
    expect(layers).toEqual([{ url: 'mqtt://x' }, { host: 'h' }]);
  });
});
