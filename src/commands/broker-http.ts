/**
 * `mqt broker --http-port`: the admin HTTP listener (src/core/admin) for the broker the command
 * runs, with its credentials: the token from --admin-token-file or MQT_ADMIN_TOKEN, and
 * --admin-user / admin_user checked against the password file (re-read on SIGHUP, as the
 * broker's own). Every problem at start is one line saying what to change.
 */
import type { Broker, ListenerRecord } from '../core/broker/index.js';
import { FileAuth } from '../core/auth/file-auth.js';
import { startAdminServer, type AdminServer } from '../core/admin/index.js';
import { readAdminTokenFrom } from './broker-admin-token.js';
import type { HttpPlan } from './broker-http-plan.js';
import { CliError } from './errors.js';

export interface BrokerHttp {
  readonly server: AdminServer;
  close(): Promise<void>;
}

const fail = (message: string, cause?: unknown): CliError => new CliError(message, { command: 'broker', cause });

/** The token: the first line of the file, trimmed; else MQT_ADMIN_TOKEN; undefined when neither. */
export function readAdminToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return readAdminTokenFrom(file, 'broker', env)?.token;
}

/** The listener's credentials, read before any listener opens, so a bad token or password file stops the start. */
export interface BrokerHttpCredentials {
  token: string | undefined;
  auth: FileAuth | undefined;
}

/** Reads the token and the admin users' password file the plan names; throws a one-line CliError. */
export function loadBrokerHttpCredentials(plan: HttpPlan): BrokerHttpCredentials {
  const token = readAdminToken(plan.tokenFile);
  let auth: FileAuth | undefined;
  if (plan.adminUsers.length > 0) {
    if (plan.passwordFile === undefined) throw fail('--admin-user needs --password-file (or password_file): the admin users log in with their passwords there');
    try {
      auth = FileAuth.load({ passwordFile: plan.passwordFile, allowAnonymous: false });
    } catch (cause) {
      throw fail(cause instanceof Error ? cause.message : String(cause), cause);
    }
  }
  return { token, auth };
}

/** Opens the listener the plan asks for; warns (through `warn`) when it is exposed in clear. */
export async function startBrokerHttp(
  broker: Broker,
  plan: HttpPlan,
  mqttListeners: readonly ListenerRecord[],
  log: (level: 'warn' | 'error', message: string) => void,
  warn: (message: string) => void,
  credentials: BrokerHttpCredentials = loadBrokerHttpCredentials(plan),
): Promise<BrokerHttp> {
  const clash = mqttListeners.find((l) => plan.port !== 0 && l.port === plan.port);
  if (clash !== undefined) throw fail(`--http-port ${plan.port} is also the port of the ${clash.kind} listener; choose another`);
  const { token, auth } = credentials;
  const hooks = auth?.hooks();
  const verifyUser =
    hooks === undefined ? undefined : (username: string, password: Buffer): boolean => hooks.authenticate({ clientId: '', protocolVersion: 4, username, remoteAddress: undefined }, username, password) === true;
  let server: AdminServer;
  try {
    server = await startAdminServer(broker, {
      port: plan.port,
      host: plan.host,
      ...(plan.tls !== undefined ? { tls: plan.tls } : {}),
      token,
      adminUsers: plan.adminUsers,
      verifyUser,
      metricsPublic: plan.metricsPublic,
      listeners: mqttListeners,
      log,
    });
  } catch (cause) {
    throw listenError(cause, plan);
  }
  // An API without credentials is said in the start-up line (broker-run.ts), not warned twice.
  if (plan.tls === undefined && !isLoopback(server.address)) warn(`the admin listener on ${server.address} is plain HTTP beyond loopback: its credentials cross the network in clear; give --http-cert and --http-key`);
  // The password file is re-read on SIGHUP, as the broker's own copy is.
  const onHangup = (): void => {
    const r = auth?.reload();
    if (r !== undefined && !r.ok) log('error', `admin users: ${r.error}; keeping the passwords read before`);
  };
  if (auth !== undefined) process.on('SIGHUP', onHangup);
  return {
    server,
    close: async () => {
      process.off('SIGHUP', onHangup);
      await server.close();
    },
  };
}

/** 127.0.0.0/8 and ::1 (also IPv4-mapped); broker-run.ts has the same test, but importing it would make a circle. */
function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function listenError(cause: unknown, plan: HttpPlan): CliError {
  const e = cause as NodeJS.ErrnoException;
  const where = `port ${plan.port} on ${plan.host}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return fail(`the admin listener's ${where} is already in use; choose another with --http-port`, cause);
    case 'EACCES':
      return fail(`no permission to listen on ${where} (ports below 1024 need privileges); choose another with --http-port`, cause);
    case 'EADDRNOTAVAIL':
      return fail(`cannot listen on ${plan.host}: that address is not on this machine; check --http-host`, cause);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`cannot resolve --http-host '${plan.host}'`, cause);
    default:
      return fail(cause instanceof Error ? cause.message : String(cause), cause);
  }
}
