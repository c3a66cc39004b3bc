/**
 * Listeners on real sockets: several at once, all or none, the records listen() resolves with,
 * address rules decided before CONNECT (from 127.0.0.2), and maxConnections.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/core/broker/broker.js';

/** MQTT 3.1.1 CONNECT, empty client id, clean session, keep-alive 0. */
const CONNECT = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]);

let brokers: Broker[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(brokers.map((b) => b.close()));
  brokers = [];
});

function broker(lines?: string[]): Broker {
  const b = createBroker(lines === undefined ? {} : { log: (_level, m) => lines.push(m) });
  brokers.push(b);
  return b;
}

/**
 * Dials from `localAddress`; without `send` it writes nothing. Resolves with what the broker did:
 * 'connack' (bytes came back) or 'closed' (closed before any byte came back).
 */
function attempt(port: number, localAddress = '127.0.0.1', send = true): Promise<'connack' | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('connect', () => {
      if (send) s.write(CONNECT);
    });
    s.once('data', (d) => {
      if (d[0] === 0x20) resolve('connack');
      else reject(new Error(`unexpected ${d.toString('hex')}`));
    });
    s.once('close', () => resolve('closed'));
  });
}

describe('broker.listen', () => {
  it('the old form still resolves with objects that have address, port and family', async () => {
    const [tcp, ws] = await broker().listen({ port: 0, host: '127.0.0.1', ws: { port: 0, path: '/mqtt' } });
    expect(tcp).toMatchObject({ kind: 'tcp', address: '127.0.0.1', family: 'IPv4', name: `tcp:${tcp!.port}`, url: `mqtt://127.0.0.1:${tcp!.port}` });
    expect(ws).toMatchObject({ kind: 'ws', address: '127.0.0.1', name: `ws:${ws!.port}`, url: `ws://127.0.0.1:${ws!.port}/mqtt` });
    expect(await attempt(tcp!.port)).toBe('connack');
  });

  it('opens several listeners at once, names and urls as given', async () => {
    const records = await broker().listen([
      { kind: 'tcp', port: 0, name: 'inside' },
      { kind: 'tcp', port: 0, host: '::1' },
      { kind: 'ws', port: 0 },
    ]);
    expect(records.map((r) => r.kind)).toEqual(['tcp', 'tcp', 'ws']);
    expect(records[0]!.name).toBe('inside');
    expect(records[1]!.url).toBe(`mqtt://[::1]:${records[1]!.port}`);
    expect(records[2]!.url).toBe(`ws://127.0.0.1:${records[2]!.port}/mqtt`);
    expect(await attempt(records[0]!.port)).toBe('connack');
  });

  it('all or none: a port in use closes the ones that opened and names the listener that failed', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const b = broker();
      const free = createServer();
      await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
      const freePort = (free.address() as AddressInfo).port;
      await new Promise<void>((r) => free.close(() => r()));
      const err = await b.listen([{ kind: 'tcp', port: freePort }, { kind: 'ws', port }]).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(`^ws listener on 127.0.0.1:${port} failed: .*EADDRINUSE`));
      expect(err!.code).toBe('EADDRINUSE');
      // The TCP listener that had opened is closed again.
      expect(await attempt(freePort)).toBe('closed');
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('refuses a spec that cannot work before opening anything', async () => {
    await expect(broker().listen({ kind: 'tls', port: 0 })).rejects.toThrow('tls listener on 127.0.0.1:0: a tls listener needs tls { certFile, keyFile }');
    await expect(broker().listen({ kind: 'tcp', port: 0, tls: { certFile: 'a', keyFile: 'b' } })).rejects.toThrow("use kind 'tls'");
    await expect(broker().listen({ kind: 'tcp', port: 0, allowFrom: ['10.0.0.300'] })).rejects.toThrow("allowFrom '10.0.0.300' is not a CIDR");
  });
});

describe('address rules', () => {
  it('allowFrom 127.0.0.1/32 refuses 127.0.0.2 before CONNECT; 127.0.0.1 connects', async () => {
    const lines: string[] = [];
    const [l] = await broker(lines).listen({ kind: 'tcp', port: 0, allowFrom: ['127.0.0.1/32'] });
    // Closed although nothing was sent: decided on the TCP connection, not on CONNECT.
    expect(await attempt(l!.port, '127.0.0.2', false)).toBe('closed');
    expect(await attempt(l!.port, '127.0.0.2')).toBe('closed');
    expect(await attempt(l!.port, '127.0.0.1')).toBe('connack');
    // Two refusals from one address, one log line.
    expect(lines).toEqual([`tcp:${l!.port}: refused a connection from 127.0.0.2 (allowFrom/denyFrom)`]);
  });

  it('denyFrom 127.0.0.2 refuses it and no one else', async () => {
    const [l] = await broker().listen({ kind: 'tcp', port: 0, denyFrom: ['127.0.0.2'] });
    expect(await attempt(l!.port, '127.0.0.2')).toBe('closed');
    expect(await attempt(l!.port, '127.0.0.1')).toBe('connack');
  });

  it('without rules 127.0.0.2 connects; on a ws listener the rule applies before the HTTP upgrade', async () => {
    const [tcp, ws] = await broker().listen([
      { kind: 'tcp', port: 0 },
      { kind: 'ws', port: 0, denyFrom: ['127.0.0.2'] },
    ]);
    expect(await attempt(tcp!.port, '127.0.0.2')).toBe('connack');
    expect(await attempt(ws!.port, '127.0.0.2', false)).toBe('closed');
  });
});

describe('maxConnections', () => {
  it('closes a connection beyond the limit at once; a place freed is taken again', async () => {
    const lines: string[] = [];
    const [l] = await broker(lines).listen({ kind: 'tcp', port: 0, maxConnections: 2 });
    expect(await attempt(l!.port)).toBe('connack');
    expect(await attempt(l!.port)).toBe('connack');
    expect(await attempt(l!.port, '127.0.0.1', false)).toBe('closed');
    expect(await attempt(l!.port)).toBe('closed');
    expect(lines).toEqual([`tcp:${l!.port}: refused a connection from 127.0.0.1: 2 open already (maxConnections)`]);
    const first = sockets[0]!;
    await new Promise<void>((r) => {
      first.once('close', () => r());
      first.destroy();
    });
    // The broker sees the close a moment after us.
    let result: string = 'closed';
    for (let i = 0; i < 50 && result === 'closed'; i++) {
      result = await attempt(l!.port);
      if (result === 'closed') await new Promise((r) => setTimeout(r, 20));
    }
    expect(result).toBe('connack');
  });
});

describe('family', () => {
  it('family 6 on :: takes no IPv4 client (IPV6_V6ONLY, as mosquitto socket_domain ipv6)', async () => {
    const [l] = await broker().listen({ kind: 'tcp', port: 0, host: '::', family: 6 });
    const v4 = await new Promise<string>((resolve) => {
      const s = connect({ port: l!.port, host: '127.0.0.1' });
      sockets.push(s);
      s.once('connect', () => resolve('connected'));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(v4).toBe('ECONNREFUSED');
  });
});
