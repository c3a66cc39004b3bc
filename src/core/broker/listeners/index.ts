/**
 * Listeners hand each accepted byte stream, with what they know about it (TransportInfo), to
 * one accept callback; one file per transport. They know nothing else of the broker.
 * tls.ts and ws.ts are imported only when such a listener opens: node:tls, node:http and ws
 * stay out of a plain TCP broker.
 */
import type { AcceptFn } from '../types.js';
import { Gate } from './gate.js';
import type { Listener, ListenerLog } from './listener.js';
import { bindHost, checkSpec, specsOf, type ListenerSpec, type ListenOptions } from './spec.js';
import { listenTcp } from './tcp.js';

export type { Listener, ListenerLog } from './listener.js';
export type { ListenerKind, ListenerRecord, ListenerSpec, ListenOptions, TlsServerFiles } from './spec.js';

async function open(accept: AcceptFn, log: ListenerLog, spec: ListenerSpec): Promise<Listener> {
  const host = bindHost(spec);
  const gate = new Gate(spec.name ?? `${spec.kind}:${spec.port}`, log, spec.allowFrom, spec.denyFrom, spec.maxConnections);
  switch (spec.kind) {
    case 'tcp':
      return listenTcp(accept, log, spec, host, gate);
    case 'tls':
      return (await import('./tls.js')).listenTls(accept, log, spec, host, gate);
    default:
      return (await import('./ws.js')).listenWs(accept, log, spec, host, gate);
  }
}

/** Opens every listener or none: when one fails, the others are closed and the error names the one that failed. */
export async function listen(accept: AcceptFn, log: ListenerLog, options: ListenOptions | ListenerSpec | ListenerSpec[]): Promise<Listener[]> {
  const specs = specsOf(options);
  const where = (s: ListenerSpec): string => `${s.name !== undefined ? `${s.name} (${s.kind})` : s.kind} listener on ${bindHost(s).includes(':') ? `[${bindHost(s)}]` : bindHost(s)}:${s.port}`;
  for (const spec of specs) checkSpec(spec);
  const results = await Promise.allSettled(specs.map((s) => open(accept, log, s)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    await Promise.all(started.map((l) => l.close()));
    const cause = (results[failed] as PromiseRejectedResult).reason as unknown;
    const message = cause instanceof Error ? cause.message : String(cause);
    // code, port, syscall of a listen error stay readable (the CLI words EADDRINUSE with them).
    const { code, port, syscall, address } = (cause ?? {}) as Record<string, unknown>;
    throw Object.assign(new Error(`${where(specs[failed]!)} failed: ${message}`, { cause }), { code, port, syscall, address });
  }
  return started;
}
