import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePayload, loadPayload, PayloadError, readLines, splitLineTopic } from '../../../src/core/client/payload.js';

async function lines(chunks: (string | Buffer)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) out.push(line.toString('latin1'));
  return out;
}

describe('decodePayload', () => {
  it('keeps utf8 text and bytes as they are', () => {
    expect(decodePayload('21.5 °C', 'utf8')).toEqual(Buffer.from('21.5 °C'));
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    expect(decodePayload(bytes, 'utf8')).toBe(bytes);
  });

  it('decodes hex, ignoring whitespace and case', () => {
    expect(decodePayload('DE ad\nbe EF', 'hex')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(decodePayload('', 'hex')).toEqual(Buffer.alloc(0));
  });

  it.each([
    ['a non-hex digit', 'abzz', /not hex: 'z' is not a hex digit/],
    ['an odd number of digits', 'abc', /not hex: an odd number of digits/],
  ])('refuses hex with %s', (_n, input, message) => {
    expect(() => decodePayload(input, 'hex')).toThrow(PayloadError);
    expect(() => decodePayload(input, 'hex')).toThrow(message);
  });

  it('decodes base64 and base64url, with or without padding', () => {
    expect(decodePayload('aGVsbG8=', 'base64').toString()).toBe('hello');
    expect(decodePayload('aGVsbG8', 'base64').toString()).toBe('hello');
    expect(decodePayload('_-8', 'base64')).toEqual(Buffer.from([0xff, 0xef]));
    expect(decodePayload(' aGVs\nbG8= ', 'base64').toString()).toBe('hello');
  });

  it.each([['a bad character', 'aGVs*G8='], ['an impossible length', 'aGVsb']])('refuses base64 with %s', (_n, input) => {
    expect(() => decodePayload(input, 'base64')).toThrow(/not base64/);
  });
});

describe('readLines', () => {
  it('splits on newlines across chunk boundaries, dropping \\r before \\n', async () => {
    expect(await lines(['a\nb', 'c\r\n', '\n', 'd'])).toEqual(['a', 'bc', '', 'd']);
  });

  it('keeps bytes that are not UTF-8', async () => {
    expect(await lines([Buffer.from([0xff, 0x0a, 0xfe])])).toEqual(['\xff', '\xfe']);
  });

  it('yields nothing for empty input and no extra line after a final newline', async () => {
    expect(await lines([])).toEqual([]);
    expect(await lines(['x\n'])).toEqual(['x']);
  });

  it('does not keep a reference to a chunk the stream may reuse', async () => {
    const chunk = Buffer.from('abc');
    const it = readLines(Readable.from([chunk, Buffer.from('d\n')]));
    const first = it.next();
    const line = (await first).value as Buffer;
    expect(line.toString()).toBe('abcd');
  });
});

describe('splitLineTopic', () => {
  it('splits at the first separator; the payload may hold more', () => {
    expect(splitLineTopic(Buffer.from('a/b\t1\t2'), '\t')).toEqual({ topic: 'a/b', payload: Buffer.from('1\t2') });
    expect(splitLineTopic(Buffer.from('a/b :: x'), ' :: ')).toEqual({ topic: 'a/b', payload: Buffer.from('x') });
    expect(splitLineTopic(Buffer.from('a/b\t'), '\t')).toEqual({ topic: 'a/b', payload: Buffer.alloc(0) });
    expect(splitLineTopic(Buffer.from('no separator'), '\t')).toBeUndefined();
  });
});

describe('loadPayload', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqt-payload-'));
    await writeFile(join(dir, 'p.bin'), Buffer.from([1, 2, 3]));
    await writeFile(join(dir, 'p.hex'), '0a0b\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const noStdin = Readable.from([]);

  it('reads each kind of source', async () => {
    expect(await loadPayload({ kind: 'message', text: 'hi' }, 'utf8', noStdin)).toEqual(Buffer.from('hi'));
    expect(await loadPayload({ kind: 'file', path: join(dir, 'p.bin') }, 'utf8', noStdin)).toEqual(Buffer.from([1, 2, 3]));
    expect(await loadPayload({ kind: 'file', path: join(dir, 'p.hex') }, 'hex', noStdin)).toEqual(Buffer.from([10, 11]));
    expect(await loadPayload({ kind: 'stdin' }, 'base64', Readable.from(['aGk=\n']))).toEqual(Buffer.from('hi'));
    expect(await loadPayload({ kind: 'null' }, 'utf8', noStdin)).toEqual(Buffer.alloc(0));
    const random = await loadPayload({ kind: 'random', size: 64 }, 'utf8', noStdin);
    expect(random.length).toBe(64);
    expect(random.equals(Buffer.alloc(64)), 'random bytes, not zeros').toBe(false);
  });

  it('names the file and the reason when it cannot be read', async () => {
    await expect(loadPayload({ kind: 'file', path: join(dir, 'missing') }, 'utf8', noStdin)).rejects.toThrow(/cannot read '.*missing': no such file/);
    await expect(loadPayload({ kind: 'file', path: dir }, 'utf8', noStdin)).rejects.toThrow(/it is a directory/);
  });
});
