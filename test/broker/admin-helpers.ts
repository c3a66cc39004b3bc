/**
 * An admin listener over a broker of the test's own, on a port the kernel picks, with fetch
 * helpers that add the token. Closed when the test ends.
 */
import type { TestContext } from 'vitest';
import type { Broker } from '../../src/core/broker/broker.js';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../src/core/admin/index.js';

export const TOKEN = 'test-token-3f9a';

export interface AdminFixture {
  server: AdminServer;
  logs: string[];
  /** fetch of `path` on the listener, with the token unless `headers` says otherwise. */
  get(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
}

export async function adminFor(ctx: TestContext, broker: Broker, options: Partial<AdminServerOptions> = {}): Promise<AdminFixture> {
  const logs: string[] = [];
  const server = await startAdminServer(broker, { port: 0, token: TOKEN, log: (level, m) => logs.push(`${level}: ${m}`), ...options });
  ctx.onTestFinished(() => server.close());
  return {
    server,
    logs,
    get: (path, init = {}) => {
      const { auth, ...rest } = init;
      const headers = new Headers(rest.headers);
      const value = auth === undefined ? `Bearer ${TOKEN}` : auth;
      if (value !== null) headers.set('Authorization', value);
      return fetch(new URL(path, server.url), { ...rest, headers });
    },
  };
}

/** A response's JSON body as the API's contract says it is (src/core/admin/api-views.ts). */
export async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
