import { describe, expect, it } from 'vitest';
import { bindHost, checkSpec, listenerUrl, specsOf } from '../../../src/core/broker/listeners/spec.js';

describe('listener specs', () => {
  it('the old { port, host, ws } form becomes a tcp and a ws spec', () => {
    expect(specsOf({ port: 1, host: '0.0.0.0', ws: { port: 2, path: '/mqtt' } })).toEqual([
      { kind: 'tcp', port: 1, host: '0.0.0.0' },
      { kind: 'ws', port: 2, host: '0.0.0.0', path: '/mqtt' },
    ]);
    expect(specsOf({ port: 1 })).toEqual([{ kind: 'tcp', port: 1, host: '127.0.0.1' }]);
    expect(specsOf({ kind: 'tls', port: 3 })).toEqual([{ kind: 'tls', port: 3 }]);
  });

  it('urls: scheme per kind, IPv6 in brackets, ws path or /mqtt', () => {
    expect(listenerUrl('tcp', '127.0.0.1', 1883, undefined)).toBe('mqtt://127.0.0.1:1883');
    expect(listenerUrl('tls', '::1', 8883, undefined)).toBe('mqtts://[::1]:8883');
    expect(listenerUrl('ws', '0.0.0.0', 80, undefined)).toBe('ws://0.0.0.0:80/mqtt');
    expect(listenerUrl('wss', '::', 443, '/x')).toBe('wss://[::]:443/x');
  });

  it('binds loopback unless told; family 6 without a host is ::1', () => {
    expect(bindHost({ kind: 'tcp', port: 0 })).toBe('127.0.0.1');
    expect(bindHost({ kind: 'tcp', port: 0, family: 6 })).toBe('::1');
    expect(bindHost({ kind: 'tcp', port: 0, host: '0.0.0.0' })).toBe('0.0.0.0');
  });

  it.each([
    [{ kind: 'wss', port: 0 }, 'wss listener on 127.0.0.1:0: a wss listener needs tls { certFile, keyFile }'],
    [{ kind: 'ws', port: 0, tls: { certFile: 'c', keyFile: 'k' } }, "ws listener on 127.0.0.1:0: tls files are given to a ws listener; use kind 'wss'"],
    [{ kind: 'tcp', port: 70000 }, 'tcp listener on 127.0.0.1:70000: the port must be 0 to 65535'],
    [{ kind: 'tcp', port: 0, host: '127.0.0.1', family: 6 }, 'tcp listener on 127.0.0.1:0: host 127.0.0.1 is not an IPv6 address (family 6)'],
    [{ kind: 'tcp', port: 0, maxConnections: -1 }, 'tcp listener on 127.0.0.1:0: maxConnections must be a whole number, 0 or more'],
    [{ kind: 'quic', port: 0 }, "listener kind 'quic' is not one of tcp, tls, ws, wss"],
  ])('refuses %j', (spec, message) => {
    expect(() => checkSpec(spec as never)).toThrow(message);
  });
});
