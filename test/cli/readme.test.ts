import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README is the first thing a user runs; keep its promises checkable.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no '## ${title}' section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README', () => {
  it('has a Quick start of exactly npm install, npm test, npx mqt bench in one code block', () => {
    const blocks = [...section('Quick start').matchAll(/```[a-z]*\n([^]*?)```/g)].map((m) => m[1]);
    expect(blocks).toEqual(['npm install\nnpm test\nnpx mqt bench\n']);
  });

  it('shows the library import with the public API names', () => {
    expect(section('Library')).toContain("import { createBroker, encode, Parser, ReasonCode, TopicTrie, type ClientInfo } from 'mqt'");
    for (const name of ['MqttError', 'validateTopicName', 'validateTopicFilter', 'topicMatches', 'startBridge']) expect(section('Library')).toContain(`\`${name}`);
  });

  it('has a section per command, moving from mosquitto, exit codes and benchmarks', () => {
    for (const command of ['pub', 'sub', 'broker', 'bench', 'retain-clear', 'lwt-test', 'passwd']) expect(readme).toContain(`\n### \`mqt ${command}\``);
    for (const title of ['Installing', 'Moving from mosquitto', 'Exit codes', 'Benchmarks', 'Testing']) expect(section(title).length).toBeGreaterThan(200);
  });

  it('names only npm scripts that package.json has', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const named = [...new Set([...readme.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)].map((m) => m[1]!))];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => pkg.scripts[name] === undefined)).toEqual([]);
  });
});
