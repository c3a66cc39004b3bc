/**
 * mosquitto.conf bridge sections (`connection NAME` and what follows), read as mosquitto 2.0.11
 * reads them: the shape of BridgeConf, mosquitto's errors at the line named, its notices, and
 * the sections of include_dir files.
 */
import { describe, expect, it } from 'vitest';
import { parseMosquittoConf, type ConfReader } from '../../../src/core/config/mosquitto-conf.js';

const parse = (text: string, reader?: ConfReader): ReturnType<typeof parseMosquittoConf> => parseMosquittoConf(text, 'm.conf', reader);
const bridge = (body: string): ReturnType<typeof parseMosquittoConf>['bridges'][number] => parse(`connection b\naddress h\n${body}\ntopic t\n`).bridges[0]!;
const at = (line: number, file = 'm.conf'): { file: string; line: number } => ({ file, line });

/** An include_dir of files given by name. */
function dir(files: Record<string, string>): ConfReader {
  return {
    listDir: () => Object.keys(files).map((p) => p.slice(p.lastIndexOf('/') + 1)),
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    },
  };
}

describe('bridge sections', () => {
  it('read every supported directive into the documented shape, and nothing for what the file does not say', () => {
    const conf = parse(
      [
        'listener 18000 127.0.0.1',
        'connection cloud',
        'address broker.example.com:8883 backup.example.com',
        'topic sensors/# out 1 local/ remote/',
        'topic cmd/+ in 2',
        'topic # both',
        'remote_username bridge-user',
        'remote_password a pass phrase with spaces',
        'remote_clientid edge-1',
        'local_clientid edge-1-local',
        'cleansession true',
        'local_cleansession false',
        'bridge_protocol_version mqttv50',
        'bridge_cafile /etc/ca.pem',
        'bridge_certfile /etc/client.pem',
        'bridge_keyfile /etc/client.key',
        'bridge_tls_version tlsv1.3',
        'bridge_alpn mqtt',
        'keepalive_interval 30',
        'restart_timeout 2 20',
        'try_private false',
        'notifications false',
        'notifications_local_only true',
        'notification_topic edge/state',
        'start_type once',
        'bridge_outgoing_retain false',
        'bridge_max_packet_size 65536',
        'round_robin true',
        '',
      ].join('\n'),
    );
    expect(conf.bridges).toEqual([
      {
        name: 'cloud',
        source: at(2),
        addresses: [{ host: 'broker.example.com', port: 8883 }, { host: 'backup.example.com', port: 1883 }],
        topics: [
          { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'local/', remotePrefix: 'remote/', source: at(4) },
          { pattern: 'cmd/+', direction: 'in', qos: 2, localPrefix: '', remotePrefix: '', source: at(5) },
          { pattern: '#', direction: 'both', qos: 0, localPrefix: '', remotePrefix: '', source: at(6) },
        ],
        remoteUsername: 'bridge-user',
        remotePassword: 'a pass phrase with spaces',
        remoteClientId: 'edge-1',
        localClientId: 'edge-1-local',
        cleanSession: true,
        localCleanSession: false,
        protocolVersion: 'mqttv50',
        tls: {
          caFile: '/etc/ca.pem',
          certFile: '/etc/client.pem',
          keyFile: '/etc/client.key',
          version: 'tlsv1.3',
          alpn: 'mqtt',
          sources: { caFile: at(14), certFile: at(15), keyFile: at(16) },
        },
        keepaliveInterval: 30,
        restartTimeout: { base: 2, cap: 20 },
        tryPrivate: false,
        notifications: false,
        notificationsLocalOnly: true,
        notificationTopic: 'edge/state',
        startType: 'once',
        outgoingRetain: false,
        maxPacketSize: 65536,
        roundRobin: true,
      },
    ]);
    expect(conf.warnings).toEqual([]);
    // The listener before the bridge is untouched by it.
    expect(conf.listeners).toEqual([{ kind: 'tcp', port: 18000, host: '127.0.0.1', source: at(1) }]);
  });

  it('a minimal section says only its name, address and topic; a file without one has no bridges', () => {
    expect(parse('connection b\naddress h\ntopic t\n').bridges).toEqual([
      { name: 'b', source: at(1), addresses: [{ host: 'h', port: 1883 }], topics: [{ pattern: 't', direction: 'out', qos: 0, localPrefix: '', remotePrefix: '', source: at(3) }] },
    ]);
    expect(parse('listener 18000\n').bridges).toEqual([]);
  });

  it('takes the old names username, password and clientid, and refuses them next to the new ones', () => {
    const b = bridge('username u\npassword p\nclientid c');
    expect([b.remoteUsername, b.remotePassword, b.remoteClientId]).toEqual(['u', 'p', 'c']);
    expect(() => parse('connection b\naddress h\ntopic t\nusername u\nremote_username v\n')).toThrow(/^m\.conf:5: remote_username is given a second time for bridge b \(first at m\.conf:4\)/);
  });

  it('the bridge directives after a connection line belong to it, until the next one', () => {
    const conf = parse('connection a\naddress h1\ntopic a/#\nconnection b\naddress h2:1884\ntopic b/# in\nkeepalive_interval 20\n');
    expect(conf.bridges.map((b) => [b.name, b.addresses, b.topics.map((t) => t.pattern), b.keepaliveInterval])).toEqual([
      ['a', [{ host: 'h1', port: 1883 }], ['a/#'], undefined],
      ['b', [{ host: 'h2', port: 1884 }], ['b/#'], 20],
    ]);
  });
});

describe('address', () => {
  it('port 1883 unless given; several for failover; an IPv6 address with its port; # ends the list', () => {
    expect(bridge('').addresses).toEqual([{ host: 'h', port: 1883 }]);
    const b = parse('connection b\naddress ::1:1884 [fd00::1]:1885 10.0.0.1 # a comment\ntopic t\n').bridges[0]!;
    expect(b.addresses).toEqual([{ host: '::1', port: 1884 }, { host: 'fd00::1', port: 1885 }, { host: '10.0.0.1', port: 1883 }]);
  });

  it('refuses a bad port, no value, a second address line, and a port with no host', () => {
    expect(() => parse('connection b\naddress h:99999\n')).toThrow(/^m\.conf:2: address "h:99999": the port must be a number from 1 to 65535/);
    expect(() => parse('connection b\naddress h:x\n')).toThrow(/^m\.conf:2: address "h:x"/);
    expect(() => parse('connection b\naddress\n')).toThrow(/^m\.conf:2: address needs host\[:port\]/);
    expect(() => parse('connection b\naddress # none\n')).toThrow(/^m\.conf:2: address needs host\[:port\]/);
    expect(() => parse('connection b\naddress h\naddresses g\n')).toThrow(/^m\.conf:3: addresses is given a second time for bridge b; list every address on one line/);
    expect(() => parse('connection b\naddress :1883\n')).toThrow(/^m\.conf:2: address ":1883" has no host/);
  });
});

describe('topic', () => {
  const topic = (line: string): unknown => {
    const t = parse(`connection b\naddress h\n${line}\n`).bridges[0]!.topics[0]!;
    return [t.pattern, t.direction, t.qos, t.localPrefix, t.remotePrefix];
  };

  it('defaults to out at QoS 0; the direction in any case; "" for an empty prefix; a local prefix alone', () => {
    expect(topic('topic a/#')).toEqual(['a/#', 'out', 0, '', '']);
    expect(topic('topic a/# IN 1')).toEqual(['a/#', 'in', 1, '', '']);
    expect(topic('topic a/# Both 2 "" remote/')).toEqual(['a/#', 'both', 2, '', 'remote/']);
    expect(topic('topic a/# both 2 local/ ""')).toEqual(['a/#', 'both', 2, 'local/', '']);
    // mosquitto: the remote prefix may be left out.
    expect(topic('topic a/# both 2 local/')).toEqual(['a/#', 'both', 2, 'local/', '']);
    // The empty pattern maps one local topic onto one remote topic.
    expect(topic('topic "" out 1 here/state there/state')).toEqual(['', 'out', 1, 'here/state', 'there/state']);
    // The pattern # is a filter, not a comment.
    expect(topic('topic # both 1')).toEqual(['#', 'both', 1, '', '']);
  });

  it('a word starting with # after the direction is a comment, as mosquitto reads it', () => {
    expect(topic('topic a/# in # from the cloud')).toEqual(['a/#', 'in', 0, '', '']);
    expect(topic('topic a/# in 1 #local/')).toEqual(['a/#', 'in', 1, '', '']);
    expect(topic('topic a/# in 1 l/ # r/')).toEqual(['a/#', 'in', 1, 'l/', '']);
  });

  it('refuses what mosquitto refuses, and what it would misread, with the line', () => {
    const error = (line: string): RegExp => new RegExp(`^m\\.conf:3: ${line}`);
    const fails = (l: string): (() => unknown) => () => parse(`connection b\naddress h\n${l}\n`);
    expect(fails('topic')).toThrow(error('topic needs a pattern'));
    expect(fails('topic a sideways')).toThrow(error('topic a: the direction must be in, out or both, not "sideways"'));
    expect(fails('topic a out 3')).toThrow(error('topic a: the QoS must be 0, 1 or 2, not "3"'));
    expect(fails('topic a out one')).toThrow(error('topic a: the QoS must be 0, 1 or 2, not "one"'));
    expect(fails('topic a out 1 l/+/ r/')).toThrow(/m\.conf:3: topic: the local prefix "l\/\+\/" has a wildcard/);
    expect(fails('topic a out 1 l/ r/#')).toThrow(/m\.conf:3: topic: the remote prefix "r\/#" has a wildcard/);
    expect(fails('topic "" out 1 l/')).toThrow(/m\.conf:3: topic "": an empty pattern needs both a local and a remote prefix/);
    expect(fails('topic "" out 1 "" r/')).toThrow(/Invalid bridge remapping/);
    expect(fails('topic a/#/b')).toThrow(error('topic a/#/b: # must be the last level'));
    expect(fails('topic a/b+')).toThrow(error('topic a/b\\+: \\+ must be a whole level'));
    expect(fails('topic a out 1 l/ r/ extra')).toThrow(error('topic takes at most 5 values; "extra" is one too many'));
  });
});

describe('values', () => {
  it('keepalive_interval below 5 is 5, restart_timeout below 1 is 1, each with mosquitto\'s notice', () => {
    const conf = parse('connection b\naddress h\ntopic t\nkeepalive_interval 2\nrestart_timeout 0\n');
    expect(conf.bridges[0]).toMatchObject({ keepaliveInterval: 5, restartTimeout: { base: 1 } });
    expect(conf.warnings).toEqual([
      'm.conf:4: keepalive_interval 2 is too low; using 5 seconds, as mosquitto does',
      'm.conf:5: restart_timeout 0 is too low; using 1 second, as mosquitto does',
    ]);
  });

  it('restart_timeout: one value is a constant, two a backoff whose cap may not be below its base', () => {
    expect(bridge('restart_timeout 20').restartTimeout).toEqual({ base: 20 });
    expect(bridge('restart_timeout 10 60').restartTimeout).toEqual({ base: 10, cap: 60 });
    expect(() => bridge('restart_timeout 10 5')).toThrow(/^m\.conf:3: restart_timeout 10 5: the cap \(second value\) is below the base/);
    expect(() => bridge('restart_timeout 1 2 3')).toThrow(/^m\.conf:3: restart_timeout takes one value/);
    expect(() => bridge('keepalive_interval 70000')).toThrow(/^m\.conf:3: keepalive_interval must be between 0 and 65535/);
  });

  it('refuses bad booleans and enums, start_type lazy with why, and keeps a negative bridge_max_packet_size as 0', () => {
    expect(() => bridge('cleansession yes')).toThrow(/^m\.conf:3: cleansession takes true or false, not "yes"/);
    expect(() => bridge('bridge_protocol_version mqttv5')).toThrow(/^m\.conf:3: bridge_protocol_version takes mqttv31, mqttv311 or mqttv50, not "mqttv5"/);
    expect(() => bridge('start_type lazy')).toThrow(/^m\.conf:3: mqt does not support start_type lazy/);
    expect(() => bridge('start_type manual')).toThrow(/^m\.conf:3: start_type manual is not supported by mosquitto nor mqt/);
    expect(() => bridge('notification_topic a/#')).toThrow(/^m\.conf:3: notification_topic a\/#: a topic to publish to has no wildcards/);
    expect(() => bridge('bridge_cafile ca\nbridge_tls_version tlsv1')).toThrow(/^m\.conf:4: bridge_tls_version takes tlsv1\.3, tlsv1\.2 or tlsv1\.1, not "tlsv1"/);
    expect(bridge('bridge_max_packet_size -1').maxPacketSize).toBe(0);
  });

  it('a string value is given once per bridge; the same directive in another bridge is fine', () => {
    expect(() => bridge('remote_clientid a\nremote_clientid b')).toThrow(/^m\.conf:4: remote_clientid is given a second time for bridge b \(first at m\.conf:3\)/);
    const conf = parse('connection a\naddress h\ntopic t\nremote_clientid x\nconnection b\naddress h\ntopic t\nremote_clientid y\n');
    expect(conf.bridges.map((b) => b.remoteClientId)).toEqual(['x', 'y']);
  });

  it('bridge_insecure true is accepted with mosquitto\'s warning', () => {
    const conf = parse('connection b\naddress h\ntopic t\nbridge_cafile ca\nbridge_insecure true\n');
    expect(conf.bridges[0]!.tls).toMatchObject({ caFile: 'ca', insecure: true });
    expect(conf.warnings).toEqual([expect.stringMatching(/^m\.conf:5: bridge b uses bridge_insecure true: the remote's certificate is not checked against its host name/)]);
  });
});

describe('whole-bridge checks, at the connection line', () => {
  it('no address, no topic: an error as in mosquitto', () => {
    expect(() => parse('listener 18000\nconnection b\ntopic t\n')).toThrow(/^m\.conf:2: bridge b has no address; add address host\[:port\]/);
    expect(() => parse('connection b\naddress h\n')).toThrow(/^m\.conf:1: bridge b has no topic line, so it would carry nothing/);
  });

  it('two bridges of one name are an error, in one file or across included ones', () => {
    expect(() => parse('connection b\naddress h\ntopic t\nconnection b\n')).toThrow(/^m\.conf:4: connection b is declared a second time \(first at m\.conf:1\)/);
    const reader = dir({ 'inc/x.conf': 'connection b\naddress h\ntopic t\n' });
    expect(() => parse('connection b\naddress h\ntopic t\ninclude_dir inc\n', reader)).toThrow(/^inc\/x\.conf:1: connection b is declared a second time \(first at m\.conf:1\)/);
  });

  it('stricter than mosquitto: TLS settings without a CA, a certificate without its key, a password without a user', () => {
    expect(() => bridge('bridge_certfile c\nbridge_keyfile k')).toThrow(/^m\.conf:1: bridge b has TLS settings but neither bridge_cafile nor bridge_capath/);
    expect(() => bridge('bridge_insecure true')).toThrow(/^m\.conf:1: bridge b has TLS settings but neither bridge_cafile nor bridge_capath/);
    expect(() => bridge('bridge_cafile ca\nbridge_certfile c')).toThrow(/^m\.conf:1: bridge b: bridge_certfile and bridge_keyfile go together/);
    expect(() => bridge('remote_password p')).toThrow(/^m\.conf:1: bridge b has remote_password without remote_username/);
    expect(bridge('bridge_capath /etc/ssl/certs').tls).toEqual({ caPath: '/etc/ssl/certs', sources: { caPath: at(3) } });
  });
});

describe('where a bridge directive may be', () => {
  it('before any connection line of its file it is an error, as mosquitto\'s "Invalid bridge configuration"', () => {
    expect(() => parse('listener 18000\ntopic t\n')).toThrow(/^m\.conf:2: topic is a bridge setting but comes before any "connection NAME" line in this file/);
    expect(() => parse('idle_timeout 5\n')).toThrow(/^m\.conf:1: idle_timeout is a bridge setting but comes before any "connection NAME" line/);
  });

  it('include_dir: each file\'s sections are bridges; an included file starts outside any bridge; the main file\'s bridge goes on after it', () => {
    const reader = dir({
      'inc/a.conf': 'connection from-a\naddress a.example\ntopic a/# both 1\n',
      'inc/b.conf': 'listener 18001\nconnection from-b\naddress b.example:1884\ntopic b/# in\n',
    });
    const conf = parse('connection main\naddress m.example\ninclude_dir inc\ntopic m/#\n', reader);
    expect(conf.bridges.map((b) => ({ name: b.name, source: b.source, hosts: b.addresses.map((a) => a.host), topics: b.topics.map((t) => t.source) }))).toEqual([
      { name: 'main', source: at(1), hosts: ['m.example'], topics: [at(4)] },
      { name: 'from-a', source: at(1, 'inc/a.conf'), hosts: ['a.example'], topics: [at(3, 'inc/a.conf')] },
      { name: 'from-b', source: at(2, 'inc/b.conf'), hosts: ['b.example'], topics: [at(4, 'inc/b.conf')] },
    ]);
    // The bridge of the main file does not reach into an included one.
    const stray = dir({ 'inc/a.conf': 'topic stray/#\n' });
    expect(() => parse('connection main\naddress m\ntopic m\ninclude_dir inc\n', stray)).toThrow(/^inc\/a\.conf:1: topic is a bridge setting but comes before any "connection NAME" line in this file/);
  });
});

describe('ignored and refused bridge directives', () => {
  it('ignored ones: inside a bridge, a value of the right kind, one notice each', () => {
    const conf = parse('connection b\naddress h\ntopic t\nidle_timeout 30\nthreshold 5\nbridge_attempt_unsubscribe false\nlocal_username u\nlocal_password p\nidle_timeout 40\n');
    expect(conf.warnings.map((w) => w.replace(/ \(.*$/, ''))).toEqual([
      'm.conf:4: idle_timeout is ignored by mqt',
      'm.conf:5: threshold is ignored by mqt',
      'm.conf:6: bridge_attempt_unsubscribe is ignored by mqt',
      'm.conf:7: local_username is ignored by mqt',
      'm.conf:8: local_password is ignored by mqt',
    ]);
    expect(() => bridge('bridge_attempt_unsubscribe maybe')).toThrow(/^m\.conf:3: bridge_attempt_unsubscribe takes true or false/);
    expect(() => bridge('threshold many')).toThrow(/^m\.conf:3: threshold takes a whole number/);
  });

  it('refused ones say why', () => {
    expect(() => bridge('bridge_bind_address 192.168.1.10')).toThrow(/^m\.conf:3: mqt does not support bridge_bind_address: /);
    expect(() => bridge('bridge_psk 00ff')).toThrow(/^m\.conf:3: mqt does not support bridge_psk: mqt has no TLS-PSK/);
    expect(() => bridge('bridge_require_ocsp true')).toThrow(/^m\.conf:3: mqt does not support bridge_require_ocsp: /);
  });
});
