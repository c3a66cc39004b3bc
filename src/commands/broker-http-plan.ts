/**
 * The admin HTTP listener `mqt broker` will open, from its flags and a mosquitto.conf's mqt
 * extensions (http_port, http_host, admin_user); flags win, as everywhere in broker-plan.ts.
 * Pure: the token file is read when the listener starts (broker-http.ts).
 */
import type { MosquittoConf } from '../core/config/mosquitto-conf.js';
import type { TlsServerFiles } from '../core/net/tls-server.js';
import { DEFAULT_HOST, type BrokerFlags } from './broker-options.js';

export interface HttpPlan {
  port: number;
  host: string;
  /** HTTPS with --http-cert/--http-key. */
  tls: TlsServerFiles | undefined;
  /** --admin-token-file; MQT_ADMIN_TOKEN is read at start when there is none. */
  tokenFile: string | undefined;
  /** Users allowed the API with Basic: --admin-user, else the file's admin_user lines. */
  adminUsers: string[];
  /** The password file that checks them: the first one a listener uses. */
  passwordFile: string | undefined;
  metricsPublic: boolean;
}

/** undefined when neither --http-port nor http_port asks for the listener. */
export function planHttp(flags: BrokerFlags, conf: MosquittoConf | undefined, passwordFiles: Iterable<string | undefined>): HttpPlan | undefined {
  const port = flags['http-port'] ?? conf?.httpPort;
  if (port === undefined) return undefined;
  let passwordFile: string | undefined;
  for (const f of passwordFiles) if ((passwordFile ??= f) !== undefined) break;
  return {
    port,
    host: flags['http-host'] ?? conf?.httpHost ?? DEFAULT_HOST,
    tls: flags['http-cert'] !== undefined && flags['http-key'] !== undefined ? { certFile: flags['http-cert'], keyFile: flags['http-key'] } : undefined,
    tokenFile: flags['admin-token-file'],
    adminUsers: flags['admin-user'] ?? conf?.adminUsers ?? [],
    passwordFile,
    metricsPublic: flags['metrics-public'] === true,
  };
}
