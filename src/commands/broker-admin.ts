/**
 * `mqt broker clients` and `mqt broker kick ID`: the command-line face of a running broker's
 * admin API (`mqt broker --http-port`). Subcommands of `broker`, so they sit beside the server
 * they talk to; the quick parser (broker-argv.ts) never takes them (their first word is no
 * broker option), so they always come here through yargs. The work is in broker-admin-run.ts,
 * loaded only when one runs; the HTTP client is core/admin/admin-client.ts.
 */
import type { Argv, CommandModule, Options } from 'yargs';
import { addGroup, integer, text } from './options/index.js';

/** The subcommands' names, for the CLI's error prefix (`mqt broker clients: …`). */
export const BROKER_SUBCOMMANDS: readonly string[] = ['clients', 'kick'];

/** Where the admin listener is: the broker's own flag names, or one URL. */
export const listenerOptions = {
  'http-port': { requiresArg: true, coerce: integer('http-port', 1, 65_535), describe: "The broker's --http-port (needed unless --url or -c)" },
  'http-host': { requiresArg: true, coerce: text('http-host'), defaultDescription: '127.0.0.1', describe: "The broker's --http-host" },
  'config-file': { alias: 'c', requiresArg: true, coerce: text('config-file'), describe: "Take http_port and http_host from the broker's mosquitto.conf (the flags win)" },
  url: { requiresArg: true, coerce: text('url'), describe: 'The admin listener as one URL, http://host:port or https://host:port, instead of --http-host and --http-port' },
  https: { type: 'boolean', describe: "The listener is HTTPS (the broker has --http-cert); trusts the system's CAs unless --http-cafile" },
  'http-cafile': { requiresArg: true, coerce: text('http-cafile'), describe: "Trust the CA certificates in this PEM file (or the broker's self-signed --http-cert itself); implies --https" },
  insecure: { type: 'boolean', describe: "Do not check the listener's certificate at all (CA and host name): for tests only" },
} as const satisfies Record<string, Options>;

export const credentialOptions = {
  'admin-token-file': { requiresArg: true, coerce: text('admin-token-file'), describe: "The admin token: the first line of this file (the broker's --admin-token-file); or set MQT_ADMIN_TOKEN" },
  username: { alias: 'u', requiresArg: true, coerce: text('username'), describe: 'Instead of a token: an --admin-user of the broker (HTTP Basic, with -P)' },
  password: { alias: 'P', requiresArg: true, coerce: text('password', { allowEmpty: true }), describe: "That user's password in the broker's --password-file" },
} as const satisfies Record<string, Options>;

export const outputOptions = {
  json: { type: 'boolean', describe: 'Print one JSON document (clients: the API\'s list; kick: {"disconnected": ID}) for scripts' },
} as const satisfies Record<string, Options>;

function withAdminOptions(yargs: Argv): Argv {
  let y = addGroup(yargs, 'Admin listener:', listenerOptions);
  y = addGroup(y, 'Credentials:', credentialOptions);
  return addGroup(y, 'Output:', outputOptions);
}

export const clients: CommandModule<object, Record<string, unknown>> = {
  command: 'clients',
  describe: 'List the clients of a running mqt broker (its admin API, --http-port)',
  builder: (yargs: Argv) =>
    withAdminOptions(yargs)
      .example('$0 broker clients --http-port 8080 --admin-token-file token', 'A table of the connected clients')
      .example('MQT_ADMIN_TOKEN=… $0 broker clients --http-port 8080 --json', 'The same as one JSON document')
      .example('$0 broker clients -c /etc/mosquitto/mosquitto.conf --admin-token-file token', 'The port from http_port in the broker\'s configuration')
      .example('$0 broker clients --url https://broker.lan:8443 --http-cafile ca.crt -u admin -P secret', 'Over HTTPS, as an admin user of the password file') as Argv<Record<string, unknown>>,
  handler: async (argv) => {
    const { runBrokerClients } = await import('./broker-admin-run.js');
    await runBrokerClients(argv);
  },
};

export const kick: CommandModule<object, Record<string, unknown>> = {
  command: 'kick <id>',
  describe: 'Disconnect a client of a running mqt broker (its admin API)',
  builder: (yargs: Argv) =>
    withAdminOptions(
      yargs.positional('id', { type: 'string', describe: 'The client id (as `mqt broker clients` lists it)' }),
    )
      .example('$0 broker kick sensor-17 --http-port 8080 --admin-token-file token', "Disconnect the client 'sensor-17'")
      .example('$0 broker kick sensor-17 -c /etc/mosquitto/mosquitto.conf -u admin -P secret', 'The port from the configuration, as an admin user')
      .epilogue('An MQTT 5 client gets DISCONNECT with reason code 0x98 (Administrative action) first.') as Argv<Record<string, unknown>>,
  handler: async (argv) => {
    const { runBrokerKick } = await import('./broker-admin-run.js');
    await runBrokerKick(argv);
  },
};
