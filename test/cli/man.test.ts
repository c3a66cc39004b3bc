/**
 * man/mqt-broker.1, as `npm run build` writes it (scripts/build-man.mjs): every option of the
 * command and of its admin subcommands is on the page (the tables the CLI parses with are the
 * page's source, so this fails only if the generator drops one), every admin route is
 * documented, and groff renders it without a warning.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { credentialOptions, listenerOptions, outputOptions } from '../../src/commands/broker-admin.js';
import { BROKER_OPTIONS } from '../../src/commands/broker-options.js';
import { needPeers, peers } from '../helpers/peers.js';

const root = join(import.meta.dirname, '..', '..');
const page = readFileSync(join(root, 'man', 'mqt-broker.1'), 'utf8');
const flag = (name: string): string => `\\fB\\-\\-${name.replace(/-/g, '\\-')}\\fR`;

/** The admin routes, as README and the page must both list them. */
const ROUTES = [
  'GET /metrics',
  'GET /api/v1/broker',
  'GET /api/v1/rates',
  'GET /api/v1/clients',
  'GET /api/v1/clients/',
  'DELETE /api/v1/clients/',
  'GET /api/v1/sessions',
  'GET /api/v1/retained?filter=',
  'DELETE /api/v1/retained?filter=',
];

describe('man/mqt-broker.1', () => {
  it('has every option of mqt broker, with its alias', () => {
    for (const [name, o] of Object.entries(BROKER_OPTIONS)) {
      expect(page, name).toContain(flag(name));
      if ('alias' in o) expect(page, name).toContain(`\\fB\\-${o.alias}\\fR, ${flag(name)}`);
    }
  });

  it('has every option of mqt broker clients and kick', () => {
    for (const name of Object.keys({ ...listenerOptions, ...credentialOptions, ...outputOptions })) expect(page, name).toContain(flag(name));
  });

  it('documents every admin route, and so does README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const text = page.replace(/\\f[BIR]/g, '').replace(/\\-/g, '-');
    for (const route of ROUTES) {
      expect(text, route).toContain(route);
      expect(readme, route).toContain(route);
    }
  });

  it('is shipped: package.json lists it under "man" and its pages under "files"', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
    expect(pkg.man).toContain('./man/mqt-broker.1');
    expect(pkg.files).toContain('man/*.1');
  });

  const gate = needPeers('groff');
  describe.skipIf(gate.skip)('rendered by groff', () => {
    beforeEach(gate.check);
    it('renders with no warning (groff -ww) and reads as a page', () => {
      const r = spawnSync(peers().groff!, ['-ww', '-man', '-Tutf8', join(root, 'man', 'mqt-broker.1')], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      const text = r.stdout.replace(/.\x08/g, '');
      for (const heading of ['NAME', 'SYNOPSIS', 'OPTIONS', '$SYS TOPICS', 'HTTP: METRICS, ADMIN API AND DASHBOARD', 'ADMIN COMMANDS', 'BRIDGES', 'EXIT STATUS']) {
        expect(text).toContain(`\n${heading}\n`);
      }
      expect(text).toContain('--admin-token-file');
    });
  });
});
