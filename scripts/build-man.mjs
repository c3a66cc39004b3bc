#!/usr/bin/env node
/**
 * Writes man/<page> from man/src/<page>.in (run by `npm run build`, after tsc): the prose is
 * the template's; every @OPTIONS@-style line is replaced by the options of the command as the
 * CLI itself defines them (dist/commands/*), grouped as in --help. So a flag added to the
 * table is on the page at the next build, and test/unit/man.test.ts fails if one is missing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (file) => import(pathToFileURL(join(root, 'dist', file)).href);
const { BROKER_OPTIONS } = await load('commands/broker-options.js');
const admin = await load('commands/broker-admin.js');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Text for roff: backslashes doubled, hyphens as \-, a leading dot or quote escaped. */
function roff(text) {
  const s = String(text).replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/** What a flag's value is called on the page, from its kind (the broker table) or its name. */
function placeholder(name, kind) {
  if (kind === 'integer' || /port$/.test(name)) return 'N';
  if (kind === 'bytes') return 'SIZE';
  if (kind === 'boolean') return 'true|false';
  if (name === 'persistence' || name === 'capath') return 'DIR';
  if (/host$/.test(name)) return 'ADDRESS';
  if (/-from$/.test(name)) return 'CIDR';
  if (name === 'admin-user' || name === 'username') return 'USER';
  if (name === 'url') return 'URL';
  if (name === 'password') return 'PASSWORD';
  return 'FILE';
}

/** One .TP entry: `-a, --name VALUE` then the description with its default. */
function entry(name, { alias, describe, defaultDescription, takesValue, choices, kind }) {
  const flags = [...(alias !== undefined ? [`\\fB\\-${alias}\\fR`] : []), `\\fB\\-\\-${roff(name)}\\fR`].join(', ');
  const value = takesValue ? ` \\fI${choices !== undefined ? choices.map(roff).join('|') : placeholder(name, kind)}\\fR` : '';
  const tail = defaultDescription !== undefined ? ` Default: ${roff(defaultDescription)}.` : '';
  return `.TP\n${flags}${value}\n${roff(describe)}.${tail}`.replace(/\.\.( Default|$)/, '.$1');
}

function brokerOptions() {
  const groups = new Map();
  for (const [name, o] of Object.entries(BROKER_OPTIONS)) {
    const takesValue = o.kind !== 'switch';
    const list = groups.get(o.group) ?? [];
    list.push(entry(name, { ...o, takesValue }));
    groups.set(o.group, list);
  }
  return [...groups].map(([group, entries]) => `.SS ${roff(group.replace(/:$/, ''))}\n${entries.join('\n')}`).join('\n');
}

function adminOptions() {
  const groups = [
    ['Admin listener', admin.listenerOptions],
    ['Credentials', admin.credentialOptions],
    ['Output', admin.outputOptions],
  ];
  return groups
    .map(([group, table]) => {
      const entries = Object.entries(table).map(([name, o]) => entry(name, { ...o, takesValue: o.type !== 'boolean' }));
      return `.SS ${group} (clients, kick)\n${entries.join('\n')}`;
    })
    .join('\n');
}

const pages = { 'mqt-broker.1': { '@OPTIONS@': brokerOptions, '@ADMIN_OPTIONS@': adminOptions } };
mkdirSync(join(root, 'man'), { recursive: true });
for (const [page, parts] of Object.entries(pages)) {
  let text = readFileSync(join(root, 'man', 'src', `${page}.in`), 'utf8');
  for (const [marker, make] of Object.entries(parts)) {
    if (!text.includes(`\n${marker}\n`)) throw new Error(`man/src/${page}.in: no ${marker} line`);
    text = text.replace(`\n${marker}\n`, `\n${make()}\n`);
  }
  // The date of the release, not of the build: pages built from one version read the same.
  text = text.replace('@DATE@', '').replace('@VERSION@', version);
  writeFileSync(join(root, 'man', page), text);
}
