import { describe, expect, it } from 'vitest';
import { connectError, ConnectError, isUnsupportedVersion } from '../../../src/core/client/diagnose.js';
import type { ConnectionOptions } from '../../../src/core/client/types.js';

const base: ConnectionOptions = {
  transport: 'mqtt', host: 'broker.lan', port: 1883, wsPath: '/mqtt', clientId: 'c', keepalive: 60, protocolVersion: 5, fallback: true, clean: true, reconnect: false,
};
const err = (code: string, message = 'x', extra: object = {}): Error => Object.assign(new Error(message), { code }, extra);

describe('connectError', () => {
  it.each([
    ['ECONNREFUSED', base, err('ECONNREFUSED'), 'connection refused by broker.lan:1883: is a broker running there and listening on port 1883?'],
    ['ECONNREFUSED on WebSocket', { ...base, transport: 'ws', port: 9001 }, err('ECONNREFUSED'), 'connection refused by ws://broker.lan:9001/mqtt: is a broker running there and listening on port 9001 for WebSocket?'],
    ['ENOTFOUND', base, err('ENOTFOUND'), "cannot find the host 'broker.lan': check the name (-h, -L) and the network"],
    ['EHOSTUNREACH', base, err('EHOSTUNREACH'), 'no route to broker.lan:1883: check the address and the network'],
    ['a timeout', { ...base, connectTimeoutMs: 10_000 }, err('ETIMEDOUT'), 'no answer from broker.lan:1883 within 10 s: is the host reachable, and is 1883 an MQTT port?'],
    ['a close on 8883 without TLS', { ...base, port: 8883 }, err('ECLOSED'), 'broker.lan:8883 closed the connection before accepting it: is it an MQTT endpoint? Port 8883 usually needs TLS (mqtts://, --cafile).'],
    ['a close with TLS', { ...base, transport: 'mqtts', port: 8883 }, err('ECONNRESET'), 'broker.lan:8883 closed the connection before accepting it: is it an MQTT endpoint? If it does not use TLS, connect with mqtt:// (no --cafile).'],
    ['an unknown CA', { ...base, transport: 'mqtts' }, err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), /is signed by a CA this client does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); pass that CA with --cafile, or use --insecure/],
    ['a self-signed certificate', { ...base, transport: 'mqtts' }, err('DEPTH_ZERO_SELF_SIGNED_CERT'), /does not trust \(DEPTH_ZERO_SELF_SIGNED_CERT\)/],
    ['a host name mismatch', { ...base, transport: 'mqtts' }, err('ERR_TLS_CERT_ALTNAME_INVALID', 'x', { cert: { subjectaltname: 'DNS:other.example, IP Address:10.0.0.1' } }), "the certificate of broker.lan:1883 is not for 'broker.lan' but for other.example, 10.0.0.1: connect by a name it lists (-h), or use --insecure to skip the check (for tests only)"],
    ['an expired certificate', { ...base, transport: 'mqtts' }, err('CERT_HAS_EXPIRED'), /has expired: the broker needs a new one/],
    ['plain MQTT where TLS was expected', { ...base, transport: 'mqtts' }, err('ERR_SSL_WRONG_VERSION_NUMBER'), 'broker.lan:1883 did not answer in TLS: the port does not speak TLS. For plain MQTT use mqtt:// and no TLS options'],
    ['a close during the handshake (raw dialer)', { ...base, transport: 'mqtts' }, err('ETLSCLOSED'), 'broker.lan:1883 closed the connection during the TLS handshake: the port probably does not speak TLS; for plain MQTT use mqtt:// and no TLS options'],
    ['TLS 1.3 where the broker stops at 1.2', { ...base, transport: 'mqtts', tls: { insecure: false, version: 'TLSv1.3' } }, err('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), 'broker.lan:1883 does not accept TLS 1.3 (--tls-version tlsv1.3): use --tls-version tlsv1.2, or leave it out'],
    ['TLS 1.2 refused', { ...base, transport: 'mqtts', tls: { insecure: false, version: 'TLSv1.2' } }, err('ERR_SSL_UNSUPPORTED_PROTOCOL'), 'broker.lan:1883 does not accept TLS 1.2 (--tls-version tlsv1.2): use --tls-version tlsv1.3, or leave it out'],
    ['no --tls-version, a broker of TLS 1.1 or older', { ...base, transport: 'mqtts' }, err('ERR_SSL_UNSUPPORTED_PROTOCOL'), 'broker.lan:1883 and this client share no TLS version: the broker may accept only TLS 1.1 or older, which this client uses only when asked (--tls-version tlsv1.1)'],
    ['the client allows no protocol (OpenSSL: no protocols available)', { ...base, transport: 'mqtts', tls: { insecure: false, version: 'TLSv1.1' } }, err('ERR_SSL_NO_PROTOCOLS_AVAILABLE'), "this client's OpenSSL does not allow TLS 1.1 (--tls-version tlsv1.1): use --tls-version tlsv1.2 or tlsv1.3, or leave it out"],
    // The same alert as MQTT.js meets it: a write error carrying OpenSSL's text and the alert number.
    [
      'no shared TLS version, as a write error (EPROTO, alert 70)',
      { ...base, transport: 'mqtts', tls: { insecure: false, version: 'TLSv1.1' } },
      err('EPROTO', 'write EPROTO 80ACC2B0657F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70'),
      'broker.lan:1883 does not accept TLS 1.1 (--tls-version tlsv1.1 is too old for it): use --tls-version tlsv1.2 or tlsv1.3, or leave it out',
    ],
    ['a client certificate required, as a write error (EPROTO, alert 116)', { ...base, transport: 'mqtts' }, err('EPROTO', 'write EPROTO ...:SSL alert number 116'), /the broker may require a client certificate \(--cert, --key\)/],
    ['a refused client certificate', { ...base, transport: 'mqtts' }, err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), /did not accept the client certificate/],
    ['an HTTP answer to the upgrade', { ...base, transport: 'ws' }, new Error('Unexpected server response: 404'), 'ws://broker.lan:1883/mqtt answered the WebSocket upgrade with HTTP 404: check the path (--ws-path) and that the port serves MQTT over WebSocket'],
    ['anything else', base, new Error('boom'), 'cannot connect to broker.lan:1883: boom'],
  ] as [string, ConnectionOptions, Error, string | RegExp][])('%s', (_n, o, e, expected) => {
    const result = connectError(e, o, 5);
    expect(result).toBeInstanceOf(ConnectError);
    expect(result.reasonCode).toBeUndefined();
    if (typeof expected === 'string') expect(result.message).toBe(expected);
    else expect(result.message).toMatch(expected);
  });

  it('names a CONNACK refusal by its code, whatever the error says', () => {
    const e = connectError(new Error('Connection refused: Not authorized'), base, 5, { reasonCode: 0x87 });
    expect(e).toMatchObject({ reasonCode: 0x87, code: 'ECONNACK' });
    expect(e.message).toBe("broker.lan:1883 refused the connection: Not authorized (0x87); this user may not connect; check -u and -P, or the broker's access rules");
    expect(connectError(new Error(''), base, 4, { returnCode: 4 }).message).toBe('broker.lan:1883 refused the connection: bad user name or password (return code 4); check the user name and password (-u, -P)');
    expect(connectError(new Error(''), base, 5, { reasonCode: 0x8a }).message).toMatch(/Banned \(0x8a\); this client is banned/);
  });

  it('recognises both ways of refusing a protocol version', () => {
    expect(isUnsupportedVersion(new ConnectError('', { reasonCode: 0x84 }))).toBe(true);
    expect(isUnsupportedVersion(new ConnectError('', { reasonCode: 0x01 }))).toBe(true);
    expect(isUnsupportedVersion(new ConnectError('', { reasonCode: 0x86 }))).toBe(false);
  });
});
