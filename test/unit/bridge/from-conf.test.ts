/**
 * A bridge section as BridgeOptions: mosquitto 2.0.11's defaults (the ids from the host name,
 * checked against a running mosquitto: `<hostname>.<name>` and `local.<hostname>.<name>`),
 * the mapping of what the file says, the local client id clash mosquitto refuses, and the TLS
 * files read once with an error at their line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BRIDGE_DEFAULTS, bridgeOptions, bridgesFromConf, checkBridgeFiles } from '../../../src/core/bridge/from-conf.js';
import { parseMosquittoConf, ConfError } from '../../../src/core/config/mosquitto-conf.js';
import { testCerts } from '../../helpers/certs.js';

const bridges = (text: string): ReturnType<typeof parseMosquittoConf>['bridges'] => parseMosquittoConf(text, 'm.conf').bridges;
const one = (body = ''): ReturnType<typeof parseMosquittoConf>['bridges'][number] => bridges(`connection cloud\naddress broker.example\ntopic # both 1\n${body}\n`)[0]!;

describe('bridgeOptions', () => {
  it('fills in mosquitto 2.0\'s defaults', () => {
    expect(bridgeOptions(one(), 'edge')).toEqual({
      name: 'cloud',
      addresses: [{ host: 'broker.example', port: 1883 }],
      topics: [{ pattern: '#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }],
      remoteClientId: 'edge.cloud',
      localClientId: 'local.edge.cloud',
      cleanSession: false,
      localCleanSession: false,
      protocolVersion: 4,
      keepalive: 60,
      restartTimeout: { base: 5, cap: 30 },
      tryPrivate: true,
      notifications: true,
      notificationsLocalOnly: false,
      notificationTopic: '$SYS/broker/connection/edge.cloud/state',
      startType: 'automatic',
      outgoingRetain: true,
      maxPacketSize: 0,
      roundRobin: false,
    });
  });

  it('takes this machine\'s name when none is given, as mosquitto\'s gethostname()', () => {
    expect(bridgeOptions(one()).remoteClientId).toBe(`${hostname()}.cloud`);
  });

  it('derives the local id and the notification topic from a given remote_clientid; local_cleansession follows cleansession', () => {
    const o = bridgeOptions(one('remote_clientid edge-7\ncleansession true'), 'edge');
    expect(o).toMatchObject({ remoteClientId: 'edge-7', localClientId: 'local.edge-7', notificationTopic: '$SYS/broker/connection/edge-7/state', cleanSession: true, localCleanSession: true });
    expect(bridgeOptions(one('cleansession true\nlocal_cleansession false'), 'edge')).toMatchObject({ cleanSession: true, localCleanSession: false });
  });

  it('maps what the file says: protocol versions, TLS, a constant restart delay, credentials', () => {
    const o = bridgeOptions(
      one(
        [
          'bridge_protocol_version mqttv50',
          'bridge_cafile ca.pem',
          'bridge_certfile c.pem',
          'bridge_keyfile k.pem',
          'bridge_tls_version tlsv1.3',
          'bridge_alpn mqtt',
          'restart_timeout 12',
          'remote_username u',
          'remote_password p w',
          'local_clientid mine',
          'notification_topic edge/up',
          'keepalive_interval 15',
        ].join('\n'),
      ),
      'edge',
    );
    expect(o).toMatchObject({
      protocolVersion: 5,
      tls: { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem', minVersion: 'TLSv1.3', alpn: 'mqtt', insecure: false },
      restartTimeout: { base: 12 },
      remoteUsername: 'u',
      remotePassword: 'p w',
      localClientId: 'mine',
      notificationTopic: 'edge/up',
      keepalive: 15,
    });
    expect(o.restartTimeout.cap).toBeUndefined();
    expect(bridgeOptions(one('bridge_protocol_version mqttv31'), 'e').protocolVersion).toBe(3);
    expect(bridgeOptions(one('bridge_capath cas\nbridge_insecure true'), 'e').tls).toEqual({ caPath: 'cas', insecure: true });
    // Without TLS there is no tls field, and no credentials unless given.
    expect('tls' in bridgeOptions(one(), 'e')).toBe(false);
    expect(bridgeOptions(one(), 'e').remoteUsername).toBeUndefined();
  });

  it('keeps the defaults apart from each result', () => {
    const a = bridgeOptions(one(), 'e');
    a.restartTimeout.base = 99;
    expect(BRIDGE_DEFAULTS.restartTimeout.base).toBe(5);
    expect(bridgeOptions(one(), 'e').restartTimeout).toEqual({ base: 5, cap: 30 });
  });
});

describe('bridgesFromConf', () => {
  it('every bridge, in file order', () => {
    const list = bridgesFromConf(bridges('connection a\naddress h\ntopic t\nconnection b\naddress g\ntopic u\n'), 'edge');
    expect(list.map((b) => [b.name, b.localClientId])).toEqual([
      ['a', 'local.edge.a'],
      ['b', 'local.edge.b'],
    ]);
  });

  it('refuses two bridges with one local client id, at the later connection line, as mosquitto does', () => {
    const clash = (text: string): (() => unknown) => () => bridgesFromConf(bridges(text), 'edge');
    expect(clash('connection a\naddress h\ntopic t\nlocal_clientid same\nconnection b\naddress g\ntopic t\nlocal_clientid same\n')).toThrow(ConfError);
    expect(clash('connection a\naddress h\ntopic t\nlocal_clientid same\nconnection b\naddress g\ntopic t\nlocal_clientid same\n')).toThrow(/^m\.conf:5: bridges a \(m\.conf:1\) and b would both be same in mqt/);
    // One remote_clientid for two bridges gives them one default local id.
    expect(clash('connection a\naddress h\ntopic t\nremote_clientid r\nconnection b\naddress g\ntopic t\nremote_clientid r\n')).toThrow(/^m\.conf:5: bridges a \(m\.conf:1\) and b would both be local\.r in mqt/);
    // An explicit id equal to another bridge's default one.
    expect(clash('connection a\naddress h\ntopic t\nconnection b\naddress g\ntopic t\nlocal_clientid local.edge.a\n')).toThrow(/^m\.conf:4: bridges a/);
  });
});

describe('checkBridgeFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqt-bridge-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes good files, and a bridge without TLS', async () => {
    const c = testCerts();
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}\nbridge_certfile ${c.clientCert}\nbridge_keyfile ${c.clientKey}`))).resolves.toBeUndefined();
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}`))).resolves.toBeUndefined();
    await expect(checkBridgeFiles(one())).resolves.toBeUndefined();
  });

  it('a missing, empty or wrong file is an error at the line that names it', async () => {
    const c = testCerts();
    const missing = join(dir, 'nope.pem');
    await expect(checkBridgeFiles(one(`bridge_cafile ${missing}`))).rejects.toThrow(`m.conf:4: bridge cloud: cannot read the CA file '${missing}': no such file`);
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.garbage}`))).rejects.toThrow(/^m\.conf:4: bridge cloud: the CA file '.*' holds no PEM certificate/);
    const empty = mkdtempSync(join(dir, 'cas-'));
    await expect(checkBridgeFiles(one(`bridge_capath ${empty}`))).rejects.toThrow(/^m\.conf:4: bridge cloud: the CA directory '.*' is empty/);
    // The key of another pair: at the bridge_keyfile line.
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}\nbridge_certfile ${c.clientCert}\nbridge_keyfile ${c.serverKey}`))).rejects.toThrow(/^m\.conf:6: bridge cloud: the key file '.*' does not match the certificate/);
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}\nbridge_certfile ${c.clientCert}\nbridge_keyfile ${c.encryptedKey}`))).rejects.toThrow(/^m\.conf:6: bridge cloud: the key file '.*' is encrypted with a passphrase/);
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}\nbridge_certfile ${missing}\nbridge_keyfile ${c.clientKey}`))).rejects.toThrow(`m.conf:5: bridge cloud: cannot read the certificate file '${missing}': no such file`);
    await expect(checkBridgeFiles(one(`bridge_cafile ${c.ca}\nbridge_certfile ${c.expiredCert}\nbridge_keyfile ${c.serverKey}`))).rejects.toThrow(/^m\.conf:5: bridge cloud: the certificate file '.*' has expired/);
  });
});
