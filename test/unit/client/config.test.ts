import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configPath,
  envSettings,
  loadConfig,
  mergeSettings,
  parseProtocolVersion,
  parseTlsVersion,
  parseUrl,
  pickProfile,
} from '../../../src/core/client/config.js';

describe('parseUrl', () => {
  it.each([
    ['mqtt://broker', { transport: 'mqtt', host: 'broker' }],
    ['mqtts://me:s%40cret@broker.example:8884', { transport: 'mqtts', host: 'broker.example', port: 8884, username: 'me', password: 's@cret' }],
    ['tcp://h:1', { transport: 'mqtt', host: 'h', port: 1 }],
    ['ssl://h', { transport: 'mqtts', host: 'h' }],
    ['ws://h:8080/mqtt', { transport: 'ws', host: 'h', port: 8080, path: '/mqtt' }],
    ['wss://u@h/', { transport: 'wss', host: 'h', username: 'u', path: '/' }],
    // mosquitto's -L puts the topic in the path; '#' stays in it (no fragment).
    ['mqtt://h/sensors/#', { transport: 'mqtt', host: 'h', path: '/sensors/#' }],
    ['mqtt://[::1]:1883', { transport: 'mqtt', host: '::1', port: 1883 }],
    ['mqtt://user:@h', { transport: 'mqtt', host: 'h', username: 'user', password: '' }],
  ])('%s', (url, expected) => {
    expect(parseUrl(url)).toEqual({ port: undefined, username: undefined, password: undefined, path: undefined, ...expected });
  });

  it.each([
    ['no scheme', 'broker:1883', /is not a broker URL/],
    ['an unknown scheme', 'http://h', /unknown URL scheme 'http'/],
    ['a bad port', 'mqtt://h:99999', /a port is a whole number from 1 to 65535, got '99999'/],
    ['a port that is no number', 'mqtt://h:x', /got 'x'/],
    ['bad percent-encoding', 'mqtt://a%zz@h', /bad percent-encoding/],
  ])('refuses %s', (_n, url, message) => {
    expect(() => parseUrl(url)).toThrow(message);
  });
});

describe('parseProtocolVersion / parseTlsVersion', () => {
  it.each([['3.1', 3], ['mqttv31', 3], ['3.1.1', 4], ['mqttv311', 4], ['5', 5], ['mqttv5', 5], ['5.0', 5], ['MQTTv5', 5]] as const)('%s is level %i', (text, level) => {
    expect(parseProtocolVersion(text)).toBe(level);
  });
  it('refuses others, listing the accepted names', () => {
    expect(() => parseProtocolVersion('6')).toThrow("unknown protocol version '6'; use 3.1, 3.1.1, 5, mqttv31, mqttv311, mqttv5");
  });
  it('reads mosquitto TLS version names', () => {
    expect(parseTlsVersion('tlsv1.3')).toBe('TLSv1.3');
    expect(parseTlsVersion('1.2')).toBe('TLSv1.2');
    expect(() => parseTlsVersion('sslv3')).toThrow(/unknown TLS version 'sslv3'/);
  });
});

describe('mergeSettings', () => {
  it('fills in localhost, and the port and path of each transport', () => {
    expect(mergeSettings([])).toMatchObject({ transport: 'mqtt', host: 'localhost', port: 1883, wsPath: '/mqtt' });
    expect(mergeSettings([{ tls: true }])).toMatchObject({ transport: 'mqtts', port: 8883 });
    expect(mergeSettings([{ ws: true }])).toMatchObject({ transport: 'ws', port: 80 });
    expect(mergeSettings([{ ws: true, cafile: '/ca.pem' }])).toMatchObject({ transport: 'wss', port: 443 });
    expect(mergeSettings([{ url: 'ws://h:9001/path' }])).toMatchObject({ transport: 'ws', host: 'h', port: 9001, wsPath: '/path' });
  });

  it.each([['cafile', { cafile: 'c' }], ['capath', { capath: 'c' }], ['cert', { cert: 'c', key: 'k' }], ['insecure', { insecure: true }], ['tls-version', { tlsVersion: 'TLSv1.3' as const }], ['alpn', { alpn: ['mqtt'] }]])(
    '%s turns TLS on',
    (_n, layer) => {
      expect(mergeSettings([layer]).transport).toBe('mqtts');
    },
  );

  it('lets a stronger layer win key by key: flags > env > profile > defaults', () => {
    const defaults = { host: 'default-host', port: 1000, username: 'default-user', keepalive: 5 };
    const profile = { host: 'profile-host', username: 'profile-user' };
    const env = { username: 'env-user' };
    const flags = { port: 2000 };
    expect(mergeSettings([defaults, profile, env, flags])).toMatchObject({ host: 'profile-host', port: 2000, username: 'env-user', keepalive: 5 });
  });

  it("spreads a layer's URL into its keys, the layer's own keys winning over the URL", () => {
    const merged = mergeSettings([{ host: 'weak' }, { url: 'mqtts://u:p@url-host:8884/t/x', username: 'own' }]);
    expect(merged).toMatchObject({ transport: 'mqtts', host: 'url-host', port: 8884, username: 'own', password: 'p', urlTopic: 't/x' });
  });

  it('replaces the password sources as a unit', () => {
    const a = mergeSettings([{ passwordFile: '/profile-pw' }, { password: 'flag' }]);
    expect([a.password, a.passwordFile]).toEqual(['flag', undefined]);
    const b = mergeSettings([{ password: 'profile' }, { passwordEnv: 'PW' }]);
    expect([b.passwordEnv, b.password]).toEqual(['PW', undefined]);
    // A URL's password is the layer's password source too.
    const c = mergeSettings([{ passwordFile: '/f' }, { url: 'mqtt://u:p@h' }]);
    expect([c.password, c.passwordFile]).toEqual(['p', undefined]);
  });

  it('gives no URL topic for WebSocket (the path is the request path)', () => {
    expect(mergeSettings([{ url: 'ws://h/mqtt' }]).urlTopic).toBeUndefined();
    expect(mergeSettings([{ url: 'mqtt://h/' }]).urlTopic).toBeUndefined();
  });
});

describe('the config file', () => {
  let home: string;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mqt-config-'));
    env = { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') };
    await mkdir(join(home, 'xdg', 'mqt'), { recursive: true });
  });
  afterEach(() => rm(home, { recursive: true, force: true }));
  const write = (content: unknown): Promise<void> =>
    writeFile(join(home, 'xdg', 'mqt', 'config.json'), typeof content === 'string' ? content : JSON.stringify(content));

  it('lives in $XDG_CONFIG_HOME/mqt, or ~/.config/mqt without it', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/mqt/config.json');
    expect(configPath({ XDG_CONFIG_HOME: '', HOME: '/h' })).toBe('/h/.config/mqt/config.json');
  });

  it('is optional', async () => {
    expect(await loadConfig(env)).toBeUndefined();
    expect(() => pickProfile(undefined, 'home', env)).toThrow(`no profile 'home': ${join(home, 'xdg', 'mqt', 'config.json')} does not exist`);
  });

  it('holds defaults and profiles, with file names relative to the file', async () => {
    await write({ defaults: { host: 'lan', port: 1884, insecure: true, 'protocol-version': 'mqttv311' }, profiles: { home: { url: 'mqtts://h', cafile: 'ca.pem', alpn: ['mqtt'] } } });
    const config = (await loadConfig(env))!;
    expect(config.defaults).toEqual({ host: 'lan', port: 1884, insecure: true, protocolVersion: 4 });
    expect(pickProfile(config, 'home', env)).toEqual({ url: 'mqtts://h', cafile: join(home, 'xdg', 'mqt', 'ca.pem'), alpn: ['mqtt'] });
    expect(() => pickProfile(config, 'work', env)).toThrow(/no profile 'work' in .*config\.json; it has home/);
  });

  it.each([
    ['bad JSON', '{', /config\.json is not valid JSON/],
    ['not an object', '[]', /must hold a JSON object/],
    ['an unknown top-level key', { default: {} }, /unknown key 'default'; the file holds "defaults" and "profiles"/],
    ['an unknown setting', { defaults: { hots: 'x' } }, /defaults: unknown setting 'hots'; known: url, host/],
    ['a port out of range', { defaults: { port: 0 } }, /defaults: 'port': a port is a whole number from 1 to 65535/],
    ['a string that should be a boolean', { profiles: { p: { insecure: 'yes' } } }, /profile 'p': 'insecure' must be true or false, got "yes"/],
    ['a bad protocol version', { defaults: { 'protocol-version': '4.0' } }, /'protocol-version': unknown protocol version '4.0'/],
    ['profiles that are no object', { profiles: [] }, /"profiles" must be an object/],
  ])('refuses %s', async (_n, content, message) => {
    await write(content);
    await expect(loadConfig(env)).rejects.toThrow(message);
  });
});

describe('envSettings', () => {
  it('reads MQT_URL, MQT_USERNAME and MQT_PASSWORD, empty meaning unset', () => {
    expect(envSettings({ MQT_URL: 'mqtt://h', MQT_USERNAME: 'u', MQT_PASSWORD: '' })).toEqual({ url: 'mqtt://h', username: 'u', password: undefined });
  });
});
