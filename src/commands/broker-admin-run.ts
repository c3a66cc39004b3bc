/**
 * The work behind `mqt broker clients` and `mqt broker kick ID`: read where the admin listener
 * is and the credentials, ask it (core/admin/admin-client.ts), print (render/admin-clients.ts).
 * Every failure is one line that says what was wrong and what to do, exit code 1.
 */
import { AdminClientError, kickClient, listClients, type AdminEndpoint } from '../core/admin/index.js';
import { readMosquittoConf, type MosquittoConf } from '../core/config/mosquitto-conf.js';
import { readTlsFiles } from '../core/net/tls-files.js';
import { readAdminTokenFrom } from './broker-admin-token.js';
import { CliError, UsageError } from './errors.js';
import { bool, num, str, type ArgvLike } from './options/index.js';
import { clientsJson, clientTable, kickedLine } from './render/admin-clients.js';
import { printable, urlHost } from './render/broker-log.js';
import { colorFor } from './render/color.js';

/** Where to ask and with what, plus what the messages need to say where things came from. */
interface Target {
  endpoint: AdminEndpoint;
  /** host:port as the user named it. */
  where: string;
  /** How the user named the listener: "--http-port 8080" or "--url …". */
  named: string;
  /** Where the credentials came from: "--admin-token-file F", "MQT_ADMIN_TOKEN" or "user 'u'". */
  credentials: string;
  command: string;
}

export async function runBrokerClients(argv: ArgvLike): Promise<void> {
  const target = await readTarget(argv, 'broker clients');
  let list;
  try {
    list = await listClients(target.endpoint);
  } catch (err) {
    throw failure(err, target);
  }
  process.stdout.write(bool(argv, 'json') === true ? clientsJson(list) : clientTable(list, colorFor('stdout')));
}

export async function runBrokerKick(argv: ArgvLike): Promise<void> {
  const id = str(argv, 'id');
  if (id === undefined || id === '') throw new UsageError('give the id of the client to disconnect (as mqt broker clients lists it)', 'broker kick');
  const target = await readTarget(argv, 'broker kick');
  try {
    await kickClient(target.endpoint, id);
  } catch (err) {
    // The API's 404 for a client says "no client …"; any other 404 is not our API (failure() says so).
    if (err instanceof AdminClientError && err.kind === 'not-found' && err.message.startsWith('no client')) {
      throw new CliError(`no client ${quoted(id)} is connected to the broker at ${target.where}; mqt broker clients lists those that are`, { command: target.command, cause: err });
    }
    throw failure(err, target);
  }
  process.stdout.write(kickedLine(id, bool(argv, 'json') === true));
}

/** A client id in a message: quoted, and JSON-escaped when it holds what a terminal would act on. */
function quoted(id: string): string {
  const shown = printable(id);
  return shown === id ? `'${id}'` : shown;
}

async function readTarget(argv: ArgvLike, command: string): Promise<Target> {
  const url = str(argv, 'url');
  const confFile = str(argv, 'config-file');
  const usage = (message: string): UsageError => new UsageError(message, command);
  if (url !== undefined && confFile !== undefined) throw usage('--url names the listener already: give either --url or -c');
  const conf = confFile !== undefined ? listenerOf(confFile, command) : {};
  const port = num(argv, 'http-port') ?? conf.port;
  const host = str(argv, 'http-host') ?? conf.host;
  const cafile = str(argv, 'http-cafile');
  const insecure = bool(argv, 'insecure') === true;

  let base: URL;
  let named: string;
  if (url !== undefined) {
    if (port !== undefined || host !== undefined) throw usage('--url names the listener already: give either --url or --http-host/--http-port');
    try {
      base = new URL(url);
    } catch {
      throw usage(`--url must be http://host:port or https://host:port, got '${url}'`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usage(`--url must start with http:// or https://, got '${url}'`);
    if (base.protocol === 'http:' && (bool(argv, 'https') === true || cafile !== undefined)) throw usage('--url http://… is plain HTTP: write https:// for an HTTPS listener');
    named = `--url ${url}`;
  } else {
    if (port === undefined) throw usage(confFile !== undefined ? `${confFile} has no http_port: give --http-port N (the broker's --http-port)` : "give --http-port N (the broker's --http-port), or --url http://host:port");
    if (port === 0) throw usage(`http_port is 0 in ${confFile ?? 'the configuration'} (a free port at each start): give --http-port N with the port the broker printed`);
    const https = bool(argv, 'https') === true || cafile !== undefined;
    base = new URL(`${https ? 'https' : 'http'}://${urlHost(host ?? '127.0.0.1')}:${port}/`);
    named = `--http-port ${port}`;
  }
  const https = base.protocol === 'https:';
  if (insecure && !https) throw usage('--insecure is for an HTTPS listener: add --https (or write https:// in --url)');

  const endpoint: AdminEndpoint = { url: base, insecure };
  if (cafile !== undefined) {
    try {
      const files = await readTlsFiles({ caFile: cafile });
      endpoint.ca = files.ca;
    } catch (cause) {
      throw new CliError(cause instanceof Error ? cause.message : String(cause), { command, cause });
    }
  }

  const username = str(argv, 'username');
  const password = str(argv, 'password');
  const tokenFile = str(argv, 'admin-token-file');
  let credentials: string;
  if (username !== undefined || password !== undefined) {
    if (username === undefined) throw usage('-P needs -u: the admin user whose password it is');
    if (password === undefined) throw usage(`-u ${username} needs -P: the password in the broker's --password-file`);
    if (tokenFile !== undefined) throw usage('give either --admin-token-file or -u/-P, not both');
    endpoint.basic = { username, password };
    credentials = `user ${printable(username)}`;
  } else {
    const token = readAdminTokenFrom(tokenFile, command);
    if (token === undefined) throw usage("no credentials: give --admin-token-file FILE (the broker's), set MQT_ADMIN_TOKEN, or -u USER -P PASSWORD for an --admin-user");
    endpoint.token = token.token;
    credentials = `the token from ${token.source}`;
  }
  return { endpoint, where: `${base.hostname}:${base.port || (https ? '443' : '80')}`, named, credentials, command };
}

/** http_port and http_host of a mosquitto.conf (mqt's extensions), or a one-line error at its file:line. */
function listenerOf(file: string, command: string): { port?: number; host?: string } {
  let conf: MosquittoConf;
  try {
    conf = readMosquittoConf(file);
  } catch (cause) {
    throw new CliError(cause instanceof Error ? cause.message : String(cause), { command, cause });
  }
  // A broker that listens on every address is reached on loopback.
  const host = conf.httpHost === '0.0.0.0' ? '127.0.0.1' : conf.httpHost === '::' ? '::1' : conf.httpHost;
  return { ...(conf.httpPort !== undefined ? { port: conf.httpPort } : {}), ...(host !== undefined ? { host } : {}) };
}

/** An admin API failure as one line in the CLI's words: what happened at which listener, and what to do. */
function failure(err: unknown, t: Target): CliError {
  if (!(err instanceof AdminClientError)) return new CliError(err instanceof Error ? err.message : String(err), { command: t.command, cause: err });
  const say = (message: string): CliError => new CliError(message, { command: t.command, cause: err });
  const code = err.details.code;
  switch (err.kind) {
    case 'unreachable':
      if (code === 'ECONNREFUSED') return say(`nothing is listening at ${t.where}: start the broker with --http-port, or point ${t.named.startsWith('--url') ? '--url' : '--http-host/--http-port'} at its admin listener`);
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say(`cannot resolve the host of ${t.where}: check ${t.named.startsWith('--url') ? '--url' : '--http-host'}`);
      return say(`cannot reach ${t.where}${code !== undefined ? ` (${code})` : ''}: check ${t.named.startsWith('--url') ? '--url' : '--http-host and --http-port'}`);
    case 'not-http':
      return say(`${t.where} did not answer HTTP: give the broker's --http-port (not an MQTT port); if the broker has --http-cert, add --https`);
    case 'not-https':
      return say(`${t.where} answers plain HTTP, not HTTPS: drop --https and --http-cafile${t.named.startsWith('--url') ? ' (write http:// in --url)' : ''}`);
    case 'tls':
      return say(`the certificate of ${t.where} is not trusted (${code ?? err.message}): give --http-cafile with the CA that signed it (or the certificate itself), or --insecure for a test`);
    case 'timeout':
      return say(`${t.where} did not answer within 10 s: is it the broker's --http-port?`);
    case 'unauthorized':
      return say(
        t.credentials.startsWith('user ')
          ? `the broker at ${t.where} refused ${t.credentials} (401): it must be an --admin-user of the broker, with the password its --password-file holds`
          : `the broker at ${t.where} refused ${t.credentials} (401): it must be the first line of the broker's own --admin-token-file (or its MQT_ADMIN_TOKEN)`,
      );
    case 'api-off':
      return say(`the broker at ${t.where} has its admin API off: start it with --admin-token-file FILE, MQT_ADMIN_TOKEN or --admin-user NAME`);
    case 'not-found':
      return say(`${t.where} has no admin API (404: ${err.message}): is it mqt broker's --http-port?`);
    case 'status':
      return say(`the broker at ${t.where} answered ${err.details.status ?? '?'}: ${err.message}`);
    case 'bad-answer':
      return say(err.message);
  }
}
