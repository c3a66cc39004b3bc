/**
 * TLS flags (mosquitto's names). Any of them turns TLS on, as a CA file does in mosquitto; so
 * does an mqtts:// or wss:// URL or --tls alone (the system's CAs). The values are merged with
 * the config file by the connection group (connection.ts flagSettings), since a profile may
 * hold its certificates; this module owns the flags and the final TlsOptions.
 */
import type { Options } from 'yargs';
import { parseTlsVersion, type ResolvedSettings } from '../../core/client/config.js';
import type { TlsOptions } from '../../core/client/types.js';
import { OptionError, parsed, text } from './values.js';

export const tlsOptions = {
  tls: { type: 'boolean', describe: "Use TLS, trusting the system's CAs (implied by mqtts://, wss:// and the options below)" },
  cafile: { type: 'string', requiresArg: true, coerce: text('cafile'), describe: 'Trust the CA certificates in this PEM file' },
  capath: { type: 'string', requiresArg: true, coerce: text('capath'), describe: 'Trust the CA certificates (*.pem, *.crt, *.cer) in this directory' },
  cert: { type: 'string', requiresArg: true, coerce: text('cert'), describe: 'Client certificate (PEM), for brokers that check it' },
  key: { type: 'string', requiresArg: true, coerce: text('key'), describe: 'Private key of --cert (PEM)' },
  insecure: { type: 'boolean', describe: "Do not check the broker's certificate at all (CA and host name): for tests only" },
  'tls-version': { type: 'string', requiresArg: true, coerce: parsed('tls-version', parseTlsVersion), describe: 'Use exactly this TLS version: tlsv1.2, tlsv1.3' },
  alpn: { type: 'string', requiresArg: true, describe: 'ALPN protocol to offer (repeatable), e.g. mqtt or x-amzn-mqtt-ca' },
} as const satisfies Record<string, Options>;

/** The TLS options of resolved settings; undefined for a plain transport. */
export function readTls(settings: ResolvedSettings): TlsOptions | undefined {
  if (settings.transport !== 'mqtts' && settings.transport !== 'wss') return undefined;
  if ((settings.cert === undefined) !== (settings.key === undefined)) throw new OptionError('--cert and --key go together: give both');
  return {
    caFile: settings.cafile,
    caPath: settings.capath,
    certFile: settings.cert,
    keyFile: settings.key,
    insecure: settings.insecure === true,
    version: settings.tlsVersion,
    alpn: settings.alpn,
  };
}
