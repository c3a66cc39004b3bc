/**
 * Who may connect and do what, for the listeners of one `mqt broker`: the password and ACL
 * files of each listener (one set for all unless per_listener_settings), turned into the
 * broker's hooks, and re-read on SIGHUP. A file that no longer parses keeps its old rules.
 */
import type { Hooks } from '../core/broker/types.js';
import { FileAuth } from '../core/auth/file-auth.js';
import { sysAllowsPublish } from '../core/topic/sys.js';
import type { AccessPlan, BrokerPlan } from './broker-plan.js';

/** Nothing to check: anonymous clients welcome, no ACL. The broker's default hooks then run alone. */
function open(plan: AccessPlan): boolean {
  return plan.allowAnonymous && plan.passwordFile === undefined && plan.aclFile === undefined;
}

export class BrokerAccess {
  private constructor(
    private readonly byListener: Map<string, FileAuth | undefined>,
    private readonly auths: ReadonlyArray<{ plan: AccessPlan; auth: FileAuth }>,
  ) {}

  /** Reads every password and ACL file the plan names; throws a one-line error for the first that fails. */
  static load(plan: BrokerPlan): BrokerAccess {
    const loaded = new Map<AccessPlan, FileAuth | undefined>();
    const byListener = new Map<string, FileAuth | undefined>();
    for (const [name, p] of plan.access) {
      if (!loaded.has(p)) {
        loaded.set(p, open(p) ? undefined : FileAuth.load({ passwordFile: p.passwordFile, aclFile: p.aclFile, allowAnonymous: p.allowAnonymous }));
      }
      byListener.set(name, loaded.get(p));
    }
    const auths = [...loaded].flatMap(([p, auth]) => (auth === undefined ? [] : [{ plan: p, auth }]));
    return new BrokerAccess(byListener, auths);
  }

  /** Whether anonymous clients may connect on the listener. */
  allowsAnonymous(listener: string): boolean {
    return this.byListener.get(listener) === undefined || this.auths.find((a) => a.auth === this.byListener.get(listener))!.plan.allowAnonymous;
  }

  /**
   * The hooks for createBroker(); undefined when no listener checks anything (the default hooks
   * then run, and deliveries pay nothing for authorization).
   */
  hooks(): Partial<Hooks> | undefined {
    const distinct = new Set(this.byListener.values());
    if (distinct.size === 1) return [...distinct][0]?.hooks();
    // Listeners with their own rules: each client is judged by the rules of the listener it came in on.
    const hooksOf = new Map<string, Partial<Hooks>>();
    const openHooks: Partial<Hooks> = {};
    for (const [name, auth] of this.byListener) hooksOf.set(name, auth?.hooks() ?? openHooks);
    const pick = (client: { transport?: { listener: { name: string } } }): Partial<Hooks> => hooksOf.get(client.transport?.listener.name ?? '') ?? openHooks;
    return {
      authenticate: (client, username, password) => pick(client).authenticate?.(client, username, password) ?? true,
      authorizePublish: (client, topic, qos, retain) => pick(client).authorizePublish?.(client, topic, qos, retain) ?? sysAllowsPublish(topic, client.bridge, client.clientId),
      authorizeSubscribe: (client, filter, qos) => pick(client).authorizeSubscribe?.(client, filter, qos) ?? qos,
      authorizeRead: (client, topic, qos, retain) => pick(client).authorizeRead?.(client, topic, qos, retain) ?? true,
    };
  }

  /** Re-reads every file (SIGHUP); one line per file set: what was loaded, or why the old rules stay. */
  reload(): Array<{ ok: boolean; line: string }> {
    return this.auths.map(({ plan, auth }) => {
      const files = [plan.passwordFile, plan.aclFile].filter((f) => f !== undefined).join(' and ');
      const r = auth.reload();
      return r.ok ? { ok: true, line: `re-read ${files}` } : { ok: false, line: `${r.error}; keeping the rules read before` };
    });
  }
}
