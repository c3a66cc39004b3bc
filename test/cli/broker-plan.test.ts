import { describe, expect, it } from 'vitest';
import { noFlags, type BrokerFlags } from '../../src/commands/broker-options.js';
import { planBroker } from '../../src/commands/broker-plan.js';
import type { ListenerConf, MosquittoConf } from '../../src/core/config/mosquitto-conf.js';

// What `mqt broker` runs for a command line and a mosquitto.conf: flags override the file,
// the file's defaults are mosquitto 2's.

const flags = (f: Partial<BrokerFlags> = {}): BrokerFlags => ({ ...noFlags(), ...f });

function conf(c: Partial<MosquittoConf> = {}): MosquittoConf {
  return {
    files: ['/etc/mosquitto/mosquitto.conf'],
    perListenerSettings: false,
    security: {},
    listeners: [],
    limits: {},
    log: { dest: [], types: [] },
    bridges: [],
    warnings: [],
    ...c,
  };
}

const at = (line: number): ListenerConf['source'] => ({ file: '/etc/mosquitto/mosquitto.conf', line });
const tls = { certFile: 'server.crt', keyFile: 'server.key', caFile: 'ca.crt' };
const three: ListenerConf[] = [
  { kind: 'tcp', port: 1883, host: '127.0.0.1', source: at(1) },
  { kind: 'tls', port: 8883, tls, passwordFile: 'tls.passwd', allowAnonymous: false, source: at(3) },
  { kind: 'wss', port: 8884, family: 4, tls: { ...tls, requireCertificate: true }, maxConnections: 100, useIdentityAsUsername: true, source: at(9) },
];

describe('planBroker', () => {
  it('runs TCP on loopback port 1883 when nothing is said, anonymous clients welcome', () => {
    const plan = planBroker(flags(), undefined);
    expect(plan.listeners).toEqual([{ kind: 'tcp', port: 1883, host: '127.0.0.1', name: 'tcp:1883' }]);
    expect([...plan.access.values()]).toEqual([{ passwordFile: undefined, aclFile: undefined, allowAnonymous: true }]);
    // $SYS every 10 s, as mosquitto.
    expect(plan.broker).toEqual({ sysInterval: 10 });
  });

  it('opens no plain TCP listener when only TLS ones are asked for, unless --port is given too', () => {
    const tlsOnly = planBroker(flags({ 'tls-port': 8883, 'wss-port': 8884, cert: 'c.pem', key: 'k.pem', 'tls-version': 'tlsv1.3' }), undefined);
    expect(tlsOnly.listeners.map((l) => [l.kind, l.port])).toEqual([
      ['tls', 8883],
      ['wss', 8884],
    ]);
    expect(tlsOnly.listeners[0]!.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem', tlsVersion: 'tlsv1.3' });
    const both = planBroker(flags({ port: 1884, 'tls-port': 8883, 'ws-port': 9001, cert: 'c.pem', key: 'k.pem', host: '0.0.0.0' }), undefined);
    expect(both.listeners.map((l) => [l.kind, l.port, l.host])).toEqual([
      ['tcp', 1884, '0.0.0.0'],
      ['tls', 8883, '0.0.0.0'],
      ['ws', 9001, '0.0.0.0'],
    ]);
  });

  it('refuses anonymous clients once a password file is given, unless --allow-anonymous true', () => {
    expect([...planBroker(flags({ 'password-file': 'p' }), undefined).access.values()][0]!.allowAnonymous).toBe(false);
    expect([...planBroker(flags({ 'password-file': 'p', 'allow-anonymous': true }), undefined).access.values()][0]!.allowAnonymous).toBe(true);
    expect([...planBroker(flags({ 'allow-anonymous': false }), undefined).access.values()][0]!.allowAnonymous).toBe(false);
  });

  it("takes the file's listeners, each with its TLS settings, binding every interface where the file names no address", () => {
    const plan = planBroker(flags(), conf({ listeners: three, security: { passwordFile: 'all.passwd' } }));
    expect(plan.listeners).toEqual([
      { kind: 'tcp', port: 1883, host: '127.0.0.1', name: 'tcp:1883' },
      { kind: 'tls', port: 8883, host: '::', tls, name: 'tls:8883' },
      { kind: 'wss', port: 8884, host: '0.0.0.0', family: 4, tls: { ...tls, requireCertificate: true }, maxConnections: 100, useIdentityAsUsername: true, name: 'wss:8884' },
    ]);
    // per_listener_settings false: one set of rules for every listener, the global one.
    const access = [...plan.access.values()];
    expect(new Set(access).size).toBe(1);
    expect(access[0]).toEqual({ passwordFile: 'all.passwd', aclFile: undefined, allowAnonymous: false });
  });

  it("follows mosquitto 2's anonymous default for a file: refused when it declares listeners, allowed when it declares none", () => {
    expect([...planBroker(flags(), conf({ listeners: three.slice(0, 1) })).access.values()][0]!.allowAnonymous).toBe(false);
    const none = planBroker(flags(), conf());
    expect(none.listeners).toEqual([{ kind: 'tcp', port: 1883, host: '127.0.0.1', name: 'tcp:1883' }]);
    expect([...none.access.values()][0]!.allowAnonymous).toBe(true);
  });

  it('gives each listener its own rules with per_listener_settings', () => {
    const plan = planBroker(flags(), conf({ perListenerSettings: true, listeners: three, security: { passwordFile: 'ignored.passwd' } }));
    expect(plan.access.get('tcp:1883')).toEqual({ passwordFile: undefined, aclFile: undefined, allowAnonymous: false });
    expect(plan.access.get('tls:8883')).toEqual({ passwordFile: 'tls.passwd', aclFile: undefined, allowAnonymous: false });
    expect(plan.access.get('tcp:1883')).not.toBe(plan.access.get('wss:8884'));
  });

  it('lets flags override the file: listener flags replace its listeners, other flags its settings', () => {
    const file = conf({ listeners: three, security: { passwordFile: 'file.passwd', aclFile: 'file.acl', allowFrom: ['10.0.0.0/8'] }, limits: { maxInflight: 10, maxQueued: 20, retainAvailable: false } });
    const replaced = planBroker(flags({ port: 1999 }), file);
    expect(replaced.listeners.map((l) => [l.kind, l.port, l.host])).toEqual([['tcp', 1999, '127.0.0.1']]);
    expect(replaced.listeners[0]!.allowFrom).toEqual(['10.0.0.0/8']);
    const over = planBroker(flags({ 'acl-file': 'flag.acl', 'max-inflight': 5, 'deny-from': ['10.0.0.9'], cafile: 'other-ca.crt', 'allow-from': ['127.0.0.1'] }), file);
    expect(over.listeners).toHaveLength(3);
    expect(over.listeners[1]!.tls).toEqual({ ...tls, caFile: 'other-ca.crt' });
    for (const l of over.listeners) expect([l.allowFrom, l.denyFrom]).toEqual([['127.0.0.1'], ['10.0.0.9']]);
    expect([...over.access.values()][0]).toEqual({ passwordFile: 'file.passwd', aclFile: 'flag.acl', allowAnonymous: false });
    expect(over.broker).toEqual({ maxInflight: 5, maxQueued: 20, retainAvailable: false, sysInterval: 10 });
  });

  it('names listeners by kind and port, telling apart two on one port number', () => {
    const plan = planBroker(flags(), conf({ listeners: [three[0]!, { ...three[0]!, host: '::1', source: at(2) }] }));
    expect(plan.listeners.map((l) => l.name)).toEqual(['tcp:1883', 'tcp:1883#2']);
  });

  it('publishes $SYS every 10 s unless the file or --sys-interval says otherwise; the flag wins, 0 included', () => {
    expect(planBroker(flags(), conf()).broker.sysInterval).toBe(10);
    expect(planBroker(flags(), conf({ sysInterval: 30 })).broker.sysInterval).toBe(30);
    expect(planBroker(flags(), conf({ sysInterval: 0 })).broker.sysInterval).toBe(0);
    expect(planBroker(flags({ 'sys-interval': 0 }), conf({ sysInterval: 30 })).broker.sysInterval).toBe(0);
    expect(planBroker(flags({ 'sys-interval': 2 }), undefined).broker.sysInterval).toBe(2);
  });

  it("passes the file's notices on", () => {
    expect(planBroker(flags(), conf({ warnings: ['mosquitto.conf:4: pid_file is ignored by mqt'] })).warnings).toEqual(['mosquitto.conf:4: pid_file is ignored by mqt']);
  });
});
