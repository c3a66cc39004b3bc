/**
 * Connection failures in plain words, each with what to try next (mosquitto users get "A TLS
 * error occurred" or "Protocol error": eclipse-mosquitto/mosquitto#396, #2746, #2988). The
 * decision is made on error codes and CONNACK reason codes, never on message text.
 */
import { CONNACK_RETURN_CODES_V3, ReasonCode, reasonCodeName } from '../codec/constants.js';
import type { ConnectionOptions, ProtocolLevel } from './types.js';

export interface ConnectErrorOptions {
  /** The CONNACK reason code (5.0) or return code (3.1.1) when the broker refused. */
  reasonCode?: number | undefined;
  /** What kind of failure: an errno or TLS code (ECONNREFUSED, CERT_HAS_EXPIRED, …) or ours (ECLOSED, EFILE). */
  code?: string | undefined;
  cause?: unknown;
}

/** A connection that could not be made. The CLI prints the message and exits with reasonCode when there is one. */
export class ConnectError extends Error {
  readonly reasonCode: number | undefined;
  readonly code: string | undefined;

  constructor(message: string, options: ConnectErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectError';
    this.reasonCode = options.reasonCode;
    this.code = options.code;
  }
}

/** The v3 return code and the v5 reason code for "this broker does not speak that protocol version". */
const V3_UNACCEPTABLE_PROTOCOL = 0x01;

export function isUnsupportedVersion(err: ConnectError): boolean {
  return err.reasonCode === ReasonCode.UnsupportedProtocolVersion || err.reasonCode === V3_UNACCEPTABLE_PROTOCOL;
}

function where(o: ConnectionOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return o.transport === 'ws' || o.transport === 'wss' ? `${o.transport}://${host}:${o.port}${o.wsPath}` : `${host}:${o.port}`;
}

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** The refusal of a CONNACK, named as the version that sent it names it. */
function refusal(code: number, version: ProtocolLevel): string {
  // A 5.0 CONNACK refuses with 0x80 and up; a lower code comes from a 3.1.1 broker that
  // answered our 5.0 CONNECT in its own terms (return code 1: unacceptable protocol version).
  if (version === 5 && code >= 0x80) return `${reasonCodeName(code, 'connack')} (0x${code.toString(16).padStart(2, '0')})`;
  return `${(CONNACK_RETURN_CODES_V3[code] ?? 'refused').replace(/^Connection Refused, /, '')} (return code ${code})`;
}

function refusalHint(code: number, version: ProtocolLevel): string {
  const v5 = version === 5;
  if ((v5 && code === ReasonCode.BadUserNameOrPassword) || (!v5 && code === 4)) return 'check the user name and password (-u, -P)';
  if ((v5 && code === ReasonCode.NotAuthorized) || (!v5 && code === 5)) return 'this user may not connect; check -u and -P, or the broker\'s access rules';
  if ((v5 && code === ReasonCode.ClientIdentifierNotValid) || (!v5 && code === 2)) return 'choose another client id (-i)';
  if (isUnsupportedVersion(new ConnectError('', { reasonCode: code }))) return 'try another protocol version (-V 3.1.1 or -V 3.1)';
  if (v5 && code === ReasonCode.Banned) return 'this client is banned by the broker';
  if ((v5 && (code === ReasonCode.ServerUnavailable || code === ReasonCode.ServerBusy)) || (!v5 && code === 3)) return 'try again later';
  if (v5 && code === ReasonCode.BadAuthenticationMethod) return 'check the authentication-method property (-D connect authentication-method)';
  return '';
}

/**
 * The error a user sees for a failed connection attempt. `connack` is the CONNACK received,
 * if any: a refusal is told by its reason code, whatever MQTT.js's error says.
 */
/**
 * A TLS alert that reaches us as a write error (EPROTO: MQTT.js writes CONNECT while the
 * handshake runs) carries the alert's number (RFC 8446 section 6), not OpenSSL's code: the
 * code it stands for, so both paths are told alike.
 */
const TLS_ALERTS: Record<string, string> = {
  '40': 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  '42': 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  '46': 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  '48': 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  '70': 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  '116': 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
};

function tlsAlertCode(err: Error): string | undefined {
  const alert = /SSL alert number (\d+)/.exec(err.message)?.[1];
  return alert === undefined ? undefined : TLS_ALERTS[alert];
}

/**
 * No TLS version in common, in words: with --tls-version the broker does not take that one
 * (tlsv1.1 is too old for a broker that starts at 1.2, as mosquitto 2 and mqt do by default);
 * without, it only takes one older than this client's default minimum (TLS 1.2).
 */
function tlsVersionMismatch(at: string, version: string | undefined): string {
  switch (version) {
    case undefined:
      return `${at} and this client share no TLS version: the broker may accept only TLS 1.1 or older, which this client uses only when asked (--tls-version tlsv1.1)`;
    case 'TLSv1.1':
      return `${at} does not accept TLS 1.1 (--tls-version tlsv1.1 is too old for it): use --tls-version tlsv1.2 or tlsv1.3, or leave it out`;
    case 'TLSv1.2':
      return `${at} does not accept TLS 1.2 (--tls-version tlsv1.2): use --tls-version tlsv1.3, or leave it out`;
    default:
      return `${at} does not accept ${version.replace('TLSv', 'TLS ')} (--tls-version ${version.toLowerCase()}): use --tls-version tlsv1.2, or leave it out`;
  }
}

export function connectError(err: Error, o: ConnectionOptions, version: ProtocolLevel, connack?: { reasonCode?: number; returnCode?: number }): ConnectError {
  const at = where(o);
  const rc = connack === undefined ? undefined : version === 5 ? connack.reasonCode : connack.returnCode;
  if (rc !== undefined && rc !== 0) {
    const hint = refusalHint(rc, version);
    return new ConnectError(`${at} refused the connection: ${refusal(rc, version)}${hint ? `; ${hint}` : ''}`, { reasonCode: rc, code: 'ECONNACK', cause: err });
  }
  if (err instanceof ConnectError) return err;
  const raw = (err as NodeJS.ErrnoException).code;
  const code = raw === 'EPROTO' ? (tlsAlertCode(err) ?? raw) : raw;
  const make = (message: string): ConnectError => new ConnectError(message, { code, cause: err });
  const secure = o.transport === 'mqtts' || o.transport === 'wss';
  const ws = o.transport === 'ws' || o.transport === 'wss';

  if (code !== undefined && UNKNOWN_CA.has(code)) {
    return make(`the certificate of ${at} is signed by a CA this client does not trust (${code}); pass that CA with --cafile, or use --insecure to skip the check (for tests only)`);
  }
  switch (code) {
    case 'EFILE':
      // A TLS file that cannot be read (core/net/tls-files.ts): its message already names the file
      // and the problem, whichever path read it (MQTT.js, the raw dialer, a bench worker thread).
      return make(err.message);
    case 'ECONNREFUSED':
      return make(`connection refused by ${at}: is a broker running there and listening on port ${o.port}${ws ? ' for WebSocket' : ''}?`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make(`cannot find the host '${o.host}': check the name (-h, -L) and the network`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(`no route to ${at}: check the address and the network`);
    case 'ETIMEDOUT':
      {
      const ms = o.connectTimeoutMs ?? 10_000;
      return make(`no answer from ${at} within ${ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`}: is the host reachable, and is ${o.port} an MQTT port?`);
    }
    case 'EHTTP':
      return make(`${at} answered in HTTP, not MQTT: port ${o.port} serves WebSocket (or the web); connect with --ws (or -L ${secure ? 'wss' : 'ws'}://${o.host}:${o.port}/mqtt)`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECLOSED':
      return make(
        `${at} closed the connection before accepting it: is it an MQTT${ws ? ' over WebSocket' : ''} endpoint?` +
          (secure ? ' If it does not use TLS, connect with mqtt:// (no --cafile).' : o.port === 8883 || o.port === 443 ? ' Port ' + o.port + ' usually needs TLS (mqtts://, --cafile).' : ''),
      );
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const names = /(?:DNS|IP Address):[^,]+/g;
      const listed = String((err as { cert?: { subjectaltname?: string } }).cert?.subjectaltname ?? '').match(names)?.map((s) => s.replace(/^(DNS|IP Address):/, '')).join(', ');
      return make(`the certificate of ${at} is not for '${o.host}'${listed ? ` but for ${listed}` : ''}: connect by a name it lists (-h), or use --insecure to skip the check (for tests only)`);
    }
    case 'CERT_HAS_EXPIRED':
      return make(`the certificate of ${at} has expired: the broker needs a new one (or use --insecure to skip the check, for tests only)`);
    case 'CERT_NOT_YET_VALID':
      return make(`the certificate of ${at} is not valid yet: check the clock of this machine and of the broker`);
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      // OpenSSL's "wrong version number": the answer was not a TLS record at all.
      return make(`${at} did not answer in TLS: the port does not speak TLS. For plain MQTT use mqtt:// and no TLS options`);
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
      return make(tlsVersionMismatch(at, o.tls?.version));
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
      // Refused on this side, before a byte was sent: the local OpenSSL does not allow that version.
      return make(`this client's OpenSSL does not allow ${o.tls?.version !== undefined ? `${o.tls.version.replace('TLSv', 'TLS ')} (--tls-version ${o.tls.version.toLowerCase()})` : 'the TLS versions asked for'}: use --tls-version tlsv1.2 or tlsv1.3, or leave it out`);
    case 'ETLSCLOSED':
      // The connection ended during the handshake (dial.ts, connect.ts): a plain MQTT port reads
      // a ClientHello as a malformed packet and closes.
      return make(`${at} closed the connection during the TLS handshake: the port probably does not speak TLS; for plain MQTT use mqtt:// and no TLS options`);
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return make(`${at} did not accept the client certificate (--cert, --key): it must be signed by a CA the broker trusts`);
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
      return make(`the TLS handshake with ${at} failed: the broker may require a client certificate (--cert, --key)${o.tls?.alpn ? ' or other ALPN protocols' : ''}`);
    case 'ERR_OSSL_PEM_NO_START_LINE':
    case 'ERR_OSSL_UNSUPPORTED':
      return make(`a TLS file is not in PEM format (--cafile, --cert, --key): ${err.message}`);
    case 'ERR_OSSL_X509_KEY_VALUES_MISMATCH':
      return make('the client certificate and key do not belong together (--cert, --key)');
    default:
      break;
  }
  // ws reports an HTTP answer other than 101 in its message only; its status is in the text.
  const http = /Unexpected server response: (\d{3})/.exec(err.message);
  if (ws && http) return make(`${at} answered the WebSocket upgrade with HTTP ${http[1]}: check the path (--ws-path) and that the port serves MQTT over WebSocket`);
  if (code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS') || code?.startsWith('ERR_OSSL')) return make(`TLS with ${at} failed: ${err.message}`);
  return make(`cannot connect to ${at}: ${err.message}`);
}
