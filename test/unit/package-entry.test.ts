/**
 * The package entry is what library users get from `import … from 'mqt'`: it must export the
 * names design.md promises, from the built files package.json points at, and pull in no CLI
 * dependency.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: { '.': { import: string } }; bin: { mqt: string } };

describe('package entry', () => {
  it('exports the public API named in design.md', () => {
    // Resolve 'mqt' the way a user's code does: the package's own name, through "exports".
    const script = `import('mqt').then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`;
    const keys = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[];
    for (const name of ['encode', 'Parser', 'MqttError', 'ReasonCode', 'validateTopicName', 'validateTopicFilter', 'topicMatches', 'TopicTrie', 'createBroker']) {
      expect(keys).toContain(name);
    }
  });

  it('works end to end from the built entry', async () => {
    const m = (await import(`${root}${pkg.exports['.'].import}`)) as typeof import('../../src/index.js');
    const bytes = m.encode({ type: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 }, 4);
    expect([...new m.Parser().push(bytes)].map((p) => p.type)).toEqual(['publish']);
    expect(m.topicMatches('a/+', 'a/b')).toBe(true);
    expect(() => m.validateTopicName('a/#')).toThrow(m.MqttError);
    expect(m.ReasonCode.MalformedPacket).toBe(0x81);
  });

  it('reaches no CLI dependency (yargs, chalk, ora, inquirer) from src/core', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts') && /from '(yargs|chalk|ora|inquirer|@inquirer\/[a-z]+)[/']/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    walk(join(root, 'src/core'));
    expect(offenders).toEqual([]);
  });
});
