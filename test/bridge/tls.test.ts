/** The bridge over TLS to mosquitto: the CA file checks the remote, a stranger's CA is refused, insecure skips only the name. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openClient } from '../interop/mqttjs-client.js';
import { testCerts } from '../helpers/certs.js';
import { needPeers } from '../helpers/peers.js';
import { stopStarted } from './started.js';
import { remoteMosquitto, type Remote } from './remote.js';
import { bridgeOptions, localBroker, until, type Local } from './setup.js';

const gate = needPeers('mosquitto');

describe.skipIf(gate.skip)('bridge over TLS', () => {
  let remote: Remote | undefined;
  let local: Local | undefined;
  beforeEach(gate.check);
  afterEach(stopStarted);

  async function tlsRemote(): Promise<Remote> {
    const c = testCerts();
    return remoteMosquitto({ copy: { 'ca.crt': c.ca, 'server.crt': c.serverCert, 'server.key': c.serverKey }, config: ['cafile {dir}/ca.crt', 'certfile {dir}/server.crt', 'keyfile {dir}/server.key'] });
  }

  it('connects with the CA file and forwards', async () => {
    const c = testCerts();
    remote = await tlsRemote();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote.port, { tls: { caFile: c.ca, insecure: false }, topics: [{ pattern: 'tls/#', direction: 'in', qos: 1, localPrefix: '', remotePrefix: '' }] }));
    await until(() => bridge.status().connected, () => `the bridge to connect over TLS:\n${local!.lines.join('\n')}`);
    await remote.subscribed('mqt.b1', 'tls/#');
    const l = await openClient(local.url, { protocolVersion: 5 });
    await l.client.subscribeAsync('tls/#', { qos: 1 });
    const r = await openClient(`mqtts://127.0.0.1:${remote.port}`, { protocolVersion: 5, ca: [require_('fs').readFileSync(c.ca)] });
    await r.client.publishAsync('tls/a', 'secret', { qos: 1 });
    expect((await l.next()).payload).toBe('secret');
  });

  it('refuses a remote whose certificate another CA signed, insecure or not (insecure skips only the name)', async () => {
    const c = testCerts();
    remote = await tlsRemote();
    local = await localBroker();
    const a = local.bridge(bridgeOptions(remote.port, { name: 'a', remoteClientId: 'a', localClientId: 'l.a', restartTimeout: { base: 60 }, tls: { caFile: c.strangerCa, insecure: false } }));
    const b = local.bridge(bridgeOptions(remote.port, { name: 'b', remoteClientId: 'b', localClientId: 'l.b', restartTimeout: { base: 60 }, tls: { caFile: c.strangerCa, insecure: true } }));
    await until(() => local!.lines.filter((l) => /Bridge (a|b): connecting .* failed/.test(l)).length >= 2, () => `two failures:\n${local!.lines.join('\n')}`);
    expect(a.status().connected).toBe(false);
    expect(b.status().connected).toBe(false);
    expect(local.lines.find((l) => l.includes('Bridge a:'))).toMatch(/certificate/i);
  });

  it('says which TLS file it cannot read', async () => {
    remote = await tlsRemote();
    local = await localBroker();
    const bridge = local.bridge(bridgeOptions(remote.port, { restartTimeout: { base: 60 }, tls: { caFile: '/nonexistent/ca.crt', insecure: false } }));
    await until(() => local!.lines.some((l) => l.includes('failed')), 'a failure');
    expect(local.lines.find((l) => l.includes('failed'))).toContain("cannot read the CA file '/nonexistent/ca.crt': no such file");
    expect(bridge.status().connected).toBe(false);
  });
});

function require_(name: 'fs'): typeof import('node:fs') {
  return process.getBuiltinModule(`node:${name}`) as typeof import('node:fs');
}
