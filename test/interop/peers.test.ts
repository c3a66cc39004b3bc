/**
 * The peer gate itself: a missing peer skips its tests on a developer's machine and fails
 * them in CI, and MQT_TEST_NO_PEERS hides peers. Pure functions, no peer needed.
 */
import { describe, expect, it } from 'vitest';
import { gateFor, hiddenPeers, installHint, type Peers } from '../helpers/peers.js';

const all: Peers = { mosquitto: '/usr/sbin/mosquitto', mosquittoPub: '/usr/bin/mosquitto_pub', mosquittoSub: '/usr/bin/mosquitto_sub', python: '/usr/bin/python3', chromium: '/usr/bin/chromium', groff: '/usr/bin/groff', man: '/usr/bin/man', zsh: '/usr/bin/zsh', fish: '/usr/bin/fish', redis: '/usr/bin/redis-server' };
const noClients: Peers = { ...all, mosquittoSub: undefined };

describe('peer gate', () => {
  it('runs a suite whose peers are all there, in CI or not', () => {
    for (const env of [{}, { CI: 'true' }]) {
      const gate = gateFor(['mosquitto', 'mosquitto-clients', 'paho'], all, env);
      expect(gate).toMatchObject({ missing: [], skip: false });
      expect(() => gate.check()).not.toThrow();
    }
  });

  it('skips, off CI, a suite with a missing peer, and only that suite', () => {
    expect(gateFor(['mosquitto-clients'], noClients, {})).toMatchObject({ missing: ['mosquitto-clients'], skip: true });
    expect(gateFor(['mosquitto', 'paho'], noClients, {}).skip).toBe(false);
  });

  it('fails, in CI, a suite with a missing peer, saying what to install', () => {
    const gate = gateFor(['mosquitto-clients'], noClients, { CI: 'true' });
    expect(gate.skip).toBe(false);
    expect(() => gate.check()).toThrow(/mosquitto_pub\/mosquitto_sub not found; install the Debian packages mosquitto mosquitto-clients python3-paho-mqtt chromium/);
  });

  it('is one line naming every missing peer', () => {
    const hint = installHint(['mosquitto', 'paho']);
    expect(hint).toBe('interop: mosquitto, Python paho-mqtt not found; install the Debian packages mosquitto mosquitto-clients python3-paho-mqtt chromium groff-base man-db zsh fish redis-server to run these tests');
    expect(hint).not.toContain('\n');
  });

  it.each([
    ['', []],
    ['0', []],
    ['1', ['mosquitto', 'mosquitto-clients', 'paho', 'chromium', 'groff', 'man', 'zsh', 'fish', 'redis']],
    ['all', ['mosquitto', 'mosquitto-clients', 'paho', 'chromium', 'groff', 'man', 'zsh', 'fish', 'redis']],
    ['paho, mosquitto', ['paho', 'mosquitto']],
  ])('MQT_TEST_NO_PEERS=%j hides %j', (value, hidden) => {
    expect([...hiddenPeers({ MQT_TEST_NO_PEERS: value })]).toEqual(hidden);
  });
});
