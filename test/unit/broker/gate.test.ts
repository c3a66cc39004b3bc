import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Gate } from '../../../src/core/broker/listeners/gate.js';

/** Enough of a socket for the gate: an address, destroy, and 'close'. */
function fakeSocket(remoteAddress: string): Socket & { destroyed: boolean } {
  const s = new EventEmitter() as EventEmitter & { remoteAddress: string; destroyed: boolean; destroy(): void };
  s.remoteAddress = remoteAddress;
  s.destroyed = false;
  s.destroy = () => {
    s.destroyed = true;
    s.emit('close');
  };
  return s as unknown as Socket & { destroyed: boolean };
}

describe('Gate', () => {
  it('refuses by address, one log line per address per minute with the count since the last line', () => {
    const lines: string[] = [];
    let now = 1_000_000;
    const gate = new Gate('tcp:1234', (m) => lines.push(m), ['127.0.0.1/32'], undefined, undefined, () => now);
    const ok = fakeSocket('127.0.0.1');
    expect(gate.admit(ok)).toBe(true);
    expect(ok.destroyed).toBe(false);
    for (let i = 0; i < 5; i++) {
      const s = fakeSocket('127.0.0.2');
      expect(gate.admit(s)).toBe(false);
      expect(s.destroyed).toBe(true);
      now += 1000;
    }
    expect(gate.admit(fakeSocket('10.0.0.1'))).toBe(false);
    expect(lines).toEqual(['tcp:1234: refused a connection from 127.0.0.2 (allowFrom/denyFrom)', 'tcp:1234: refused a connection from 10.0.0.1 (allowFrom/denyFrom)']);
    now += 60_000;
    expect(gate.admit(fakeSocket('127.0.0.2'))).toBe(false);
    expect(lines[2]).toBe('tcp:1234: refused a connection from 127.0.0.2 (allowFrom/denyFrom) (and 4 more since the last line)');
  });

  it('maxConnections: beyond, closed at once and logged once a minute; a closed one frees a place', () => {
    const lines: string[] = [];
    const now = 5;
    const gate = new Gate('ws:9', (m) => lines.push(m), undefined, undefined, 2, () => now);
    const a = fakeSocket('127.0.0.1');
    expect(gate.admit(a)).toBe(true);
    expect(gate.admit(fakeSocket('127.0.0.1'))).toBe(true);
    const c = fakeSocket('127.0.0.3');
    expect(gate.admit(c)).toBe(false);
    expect(c.destroyed).toBe(true);
    expect(gate.admit(fakeSocket('127.0.0.4'))).toBe(false);
    expect(gate.connections).toBe(2);
    expect(lines).toEqual(['ws:9: refused a connection from 127.0.0.3: 2 open already (maxConnections)']);
    a.destroy();
    expect(gate.connections).toBe(1);
    expect(gate.admit(fakeSocket('127.0.0.1'))).toBe(true);
  });

  it('an invalid CIDR is an error at construction', () => {
    expect(() => new Gate('x', () => undefined, undefined, ['10.0.0.0/40'], undefined)).toThrow("denyFrom '10.0.0.0/40' is not a CIDR");
  });
});
