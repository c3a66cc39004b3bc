/**
 * mosquitto's acl_file (mosquitto.conf(5)):
 *   topic [read|write|readwrite|deny] FILTER   before any `user` line: anonymous clients only (mosquitto 2.x);
 *                                              after `user NAME`: that user
 *   user NAME
 *   pattern [read|write|readwrite|deny] FILTER every client; %u = user name, %c = client id
 * No access word means readwrite. Deny rules are looked at first and win (as mosquitto 2.0's acl check).
 * No matching rule: denied. A pattern never matches for a user name / client id holding + or # (mosquitto
 * refuses those outright); a %u pattern never matches an anonymous client.
 */
import { readFileSync } from 'node:fs';
import { topicMatches } from '../topic/match.js';
import { filterCovers, filtersOverlap } from './topic-filter.js';

const READ = 1;
const WRITE = 2;
const DENY = 0;

interface Rule {
  readonly access: number;
  readonly filter: string;
}
interface Pattern extends Rule {
  readonly hasUser: boolean;
  readonly hasClient: boolean;
}

export class AclFileError extends Error {
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'AclFileError';
  }
}

function hasWildcardChar(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

export class Acl {
  constructor(
    private readonly anonymous: readonly Rule[],
    private readonly users: ReadonlyMap<string, readonly Rule[]>,
    private readonly patterns: readonly Pattern[],
  ) {}

  private static readonly NONE: readonly Rule[] = [];

  private rulesFor(username: string | undefined): readonly Rule[] {
    return username === undefined ? this.anonymous : (this.users.get(username) ?? Acl.NONE);
  }

  /** A pattern's filter for this client, or undefined when it cannot apply (mosquitto's rules above). */
  private static substitute(p: Pattern, username: string | undefined, clientId: string): string | undefined {
    if (p.hasUser && (username === undefined || hasWildcardChar(username))) return undefined;
    if (p.hasClient && hasWildcardChar(clientId)) return undefined;
    let f = p.filter;
    if (p.hasUser) f = f.replaceAll('%u', username!);
    if (p.hasClient) f = f.replaceAll('%c', clientId);
    return f;
  }

  /** Any rule of this client with access `want` (DENY: a deny rule) that `test(filter, arg)` holds for. Hot path: no closures. */
  private any(username: string | undefined, clientId: string, want: number, test: (f: string, arg: string) => boolean, arg: string): boolean {
    for (const r of this.rulesFor(username)) {
      if ((want === DENY ? r.access === DENY : (r.access & want) !== 0) && test(r.filter, arg)) return true;
    }
    for (const p of this.patterns) {
      if (want === DENY ? p.access !== DENY : (p.access & want) === 0) continue;
      const f = Acl.substitute(p, username, clientId);
      if (f !== undefined && test(f, arg)) return true;
    }
    return false;
  }

  private check(username: string | undefined, clientId: string, topic: string, want: number): boolean {
    if (this.any(username, clientId, DENY, topicMatches, topic)) return false;
    return this.any(username, clientId, want, topicMatches, topic);
  }

  canRead(username: string | undefined, clientId: string, topic: string): boolean {
    return this.check(username, clientId, topic, READ);
  }
  canWrite(username: string | undefined, clientId: string, topic: string): boolean {
    return this.check(username, clientId, topic, WRITE);
  }
  /** Refused when no readable rule overlaps the filter, or a deny rule covers all it could match. */
  canSubscribe(username: string | undefined, clientId: string, filter: string): boolean {
    if (this.any(username, clientId, DENY, filterCovers, filter)) return false;
    return this.any(username, clientId, READ, filtersOverlap, filter);
  }
}

const ACCESS: Record<string, number> = { read: READ, write: WRITE, readwrite: READ | WRITE, deny: DENY };

export function parseAclFile(text: string, file: string): Acl {
  const anonymous: Rule[] = [];
  const users = new Map<string, Rule[]>();
  const patterns: Pattern[] = [];
  let current: Rule[] = anonymous;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    const word = m[1]!;
    const rest = m[2]!;
    if (word === 'user') {
      if (rest === '') throw new AclFileError(file, i + 1, '"user" needs a user name');
      current = users.get(rest) ?? [];
      users.set(rest, current);
      continue;
    }
    if (word !== 'topic' && word !== 'pattern') {
      throw new AclFileError(file, i + 1, `unknown keyword "${word}" (expected topic, pattern or user)`);
    }
    const a = /^(read|write|readwrite|deny)\s+(.+)$/.exec(rest);
    const access = a ? ACCESS[a[1]!]! : READ | WRITE;
    const filter = a ? a[2]! : rest;
    if (filter === '') throw new AclFileError(file, i + 1, `"${word}" needs a topic filter`);
    if (word === 'topic') current.push({ access, filter });
    else patterns.push({ access, filter, hasUser: filter.includes('%u'), hasClient: filter.includes('%c') });
  }
  return new Acl(anonymous, users, patterns);
}

export function readAclFile(path: string): Acl {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ACL file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseAclFile(text, path);
}
