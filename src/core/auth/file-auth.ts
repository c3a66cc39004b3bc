/**
 * mosquitto's password_file + acl_file + allow_anonymous as broker hooks. The tables live on the instance and
 * each hook reads them at the call, so reload() takes effect from the next packet.
 */
import { ReasonCode } from '../codec/constants.js';
import type { QoS } from '../codec/types.js';
import type { ClientInfo } from '../broker/types.js';
import { sysAllowsPublish } from '../topic/sys.js';
import { type Acl, readAclFile } from './acl-file.js';
import { type PasswordTable, readPasswordFile } from './password-file.js';

export interface FileAuthOptions {
  passwordFile?: string;
  aclFile?: string;
  /** Default: false when a password file is given, true otherwise (as mosquitto 2.0). */
  allowAnonymous?: boolean;
}

export interface FileAuthHooks {
  authenticate(client: ClientInfo, username: string | undefined, password: Buffer | undefined): boolean | number;
  authorizePublish(client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean;
  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS): QoS | false;
  authorizeRead(client: ClientInfo, topic: string, qos: QoS, retain: boolean): boolean;
}

interface Tables {
  passwords: PasswordTable | undefined;
  acl: Acl | undefined;
}

export class FileAuth {
  private tables: Tables;
  readonly allowAnonymous: boolean;

  private constructor(
    private readonly options: FileAuthOptions,
    tables: Tables,
  ) {
    this.tables = tables;
    this.allowAnonymous = options.allowAnonymous ?? options.passwordFile === undefined;
  }

  private static read(options: FileAuthOptions): Tables {
    return {
      passwords: options.passwordFile === undefined ? undefined : readPasswordFile(options.passwordFile),
      acl: options.aclFile === undefined ? undefined : readAclFile(options.aclFile),
    };
  }

  /** Throws a one-line error naming file and line. */
  static load(options: FileAuthOptions): FileAuth {
    return new FileAuth(options, FileAuth.read(options));
  }

  /** Re-reads both files; keeps the old tables unless both parse. */
  reload(): { ok: true } | { ok: false; error: string } {
    try {
      this.tables = FileAuth.read(this.options);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  hooks(): FileAuthHooks {
    return {
      // mosquitto 2.0 answers a bad password, an unknown user and a refused anonymous client alike:
      // 5.0 0x87 Not authorized, 3.1.1 code 5 (connection.ts maps 0x87 to 5).
      authenticate: (client, username, password) => {
        if (client.transport?.listener && (client.transport.listener as { useIdentityAsUsername?: boolean }).useIdentityAsUsername === true) {
          return true; // the certificate is the credential; username is already its CN
        }
        if (username === undefined) return this.allowAnonymous ? true : ReasonCode.NotAuthorized;
        const passwords = this.tables.passwords;
        if (passwords === undefined) return true;
        return passwords.verify(username, password) ? true : ReasonCode.NotAuthorized;
      },
      authorizePublish: (client, topic) => {
        // $SYS is the broker's, but for a bridge's state; the ACL must still grant that one.
        if (!sysAllowsPublish(topic, client.bridge, client.clientId)) return false;
        const acl = this.tables.acl;
        return acl === undefined || acl.canWrite(client.username, client.clientId, topic);
      },
      authorizeSubscribe: (client, filter, qos) => {
        const acl = this.tables.acl;
        return acl === undefined || acl.canSubscribe(client.username, client.clientId, filter) ? qos : false;
      },
      authorizeRead: (client, topic) => {
        const acl = this.tables.acl;
        return acl === undefined || acl.canRead(client.username, client.clientId, topic);
      },
    };
  }
}
