/**
 * The dashboard's files on the admin listener: no credentials needed, the right types and
 * security headers, nothing outside dashboard/ however the path is spelled; and the listener
 * over HTTPS with the test certificates.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDashboardDir } from '../../src/core/admin/static-files.js';
import { brokerFor } from '../helpers/broker-client.js';
import { testCerts } from '../helpers/certs.js';
import { adminFor, TOKEN } from './admin-helpers.js';

/** A request with the path exactly as written (fetch would normalise `..` away). */
function raw(url: string, path: string, options: { ca?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: options.headers, ...(options.ca !== undefined ? { ca: options.ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function dashboardFixture(): string {
  const root = mkdtempSync(join(tmpdir(), 'mqt-admin-static-'));
  const dir = join(root, 'dashboard');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>mqt</title>');
  writeFileSync(join(dir, 'app.js'), 'export {};');
  writeFileSync(join(dir, 'style.css'), 'body{}');
  writeFileSync(join(dir, 'sub', 'x.svg'), '<svg/>');
  writeFileSync(join(root, 'secret.txt'), 'do not serve');
  return dir;
}

describe('dashboard files', () => {
  it('serves / and /dashboard/* without credentials, with type, no-cache, CSP and nosniff', async (ctx) => {
    const dir = dashboardFixture();
    ctx.onTestFinished(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
    const admin = await adminFor(ctx, brokerFor(ctx), { dashboardDir: dir });
    for (const [path, type] of [
      ['/', 'text/html; charset=utf-8'],
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/sub/x.svg', 'image/svg+xml'],
    ] as const) {
      const res = await admin.get(path, { auth: null });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).not.toContain('unsafe-inline');
    }
    expect(await (await admin.get('/', { auth: null })).text()).toContain('<title>mqt</title>');
    expect((await admin.get('/dashboard/missing.js', { auth: null })).status).toBe(404);
    expect((await admin.get('/dashboard/sub', { auth: null })).status).toBe(404);
    expect((await admin.get('/dashboard/app.js', { auth: null, method: 'DELETE' })).status).toBe(405);
  });

  it('refuses path traversal: .., encoded %2e%2e and %2f, backslashes, absolute paths, NUL', async (ctx) => {
    const dir = dashboardFixture();
    ctx.onTestFinished(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
    const admin = await adminFor(ctx, brokerFor(ctx), { dashboardDir: dir });
    for (const path of [
      '/dashboard/../secret.txt',
      '/dashboard/%2e%2e/secret.txt',
      '/dashboard/%2E%2E%2Fsecret.txt',
      '/dashboard/sub/../../secret.txt',
      '/dashboard/..%5csecret.txt',
      '/dashboard//etc/passwd',
      '/dashboard/%2fetc%2fpasswd',
      `/dashboard/${encodeURIComponent(join(dir, '..', 'secret.txt'))}`,
      '/dashboard/app.js%00.html',
      '/../secret.txt',
      '/dashboard/%E0%A4%A',
    ]) {
      const res = await raw(admin.server.url, path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body).not.toContain('do not serve');
      expect(() => JSON.parse(res.body)).not.toThrow();
    }
  });

  it('finds the package dashboard/ from the module, and says so when there is none', async (ctx) => {
    const dir = findDashboardDir();
    expect(dir).toBeDefined();
    expect(readFileSync(join(dir!, 'index.html'), 'utf8')).toMatch(/<html/i);
    expect(findDashboardDir('file:///nonexistent/a/b/c/static-files.js')).toBeUndefined();
    const admin = await adminFor(ctx, brokerFor(ctx), { dashboardDir: join(tmpdir(), 'no-such-mqt-dashboard') });
    const res = await admin.get('/dashboard/x.js', { auth: null });
    expect(res.status).toBe(404);
  });
});

describe('HTTPS', () => {
  it('serves the API and /metrics over TLS with the given certificate', async (ctx) => {
    const certs = testCerts();
    const admin = await adminFor(ctx, brokerFor(ctx), { tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
    expect(admin.server.kind).toBe('https');
    expect(admin.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const ca = readFileSync(certs.ca, 'utf8');
    const ok = await raw(admin.server.url, '/api/v1/clients', { ca, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual([]);
    expect((await raw(admin.server.url, '/metrics', { ca })).status).toBe(401);
    await expect(raw(admin.server.url, '/api/v1/clients')).rejects.toThrow(/certificate/i);
  });
});
