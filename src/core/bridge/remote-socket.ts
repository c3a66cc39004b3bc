/**
 * The bridge's TCP or TLS connection to the remote broker. Not net/dial.ts's Link: a bridge
 * needs two things it lacks, pausing the socket while our broker is not reading (the input side
 * of back-pressure), and bridge_insecure's meaning (the chain is checked, only the host name is
 * not). The TLS files are read by tls-files.ts, the one reader, once per address.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { tlsClientOptions } from '../net/tls-files.js';
import type { BridgeTls } from './types.js';

/** node:tls options for the remote `host`; rejects with a TlsFileError naming a file that cannot be read. */
export async function remoteTlsOptions(tls: BridgeTls, host: string): Promise<ConnectionOptions> {
  const files = await tlsClientOptions(
    { caFile: tls.caFile, caPath: tls.caPath, certFile: tls.certFile, keyFile: tls.keyFile, insecure: false, alpn: tls.alpn === undefined ? undefined : [tls.alpn] },
    host,
  );
  const out: ConnectionOptions = { ...files };
  if (tls.minVersion !== undefined) out.minVersion = tls.minVersion;
  // bridge_insecure: any name will do, but the certificate must still chain to a trusted CA.
  if (tls.insecure) out.checkServerIdentity = () => undefined;
  return out;
}

/** Opens the socket: resolves once connected (TLS: handshake done), rejects on error or after timeoutMs. */
export function openRemote(host: string, port: number, tls: ConnectionOptions | undefined, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = tls === undefined ? netConnect({ host, port, noDelay: true }) : tlsConnect({ host, port, ...tls });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${tls === undefined ? 'TCP' : 'TLS'} connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
