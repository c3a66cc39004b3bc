/**
 * Connection storm: `total` clients (clean session, MQTT 3.1.1 or 5), at most `concurrency`
 * waiting for their CONNACK at any time. The rate is CONNACKs per second from the first
 * socket opened to the last CONNACK; the latency is CONNECT written → CONNACK read. All
 * connections stay open until the last one is in, so the broker holds `total` clients at
 * the end (its RSS is sampled then, and before the first), and are closed with DISCONNECT
 * afterwards.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encode } from '../../dist/core/codec/index.js';
import { HOST } from './client.mjs';
import { percentile } from './stats.mjs';

const DISCONNECT = Buffer.from([0xe0, 0x00]);
const TIMEOUT_MS = 60_000;
let stormCounter = 0;

/**
 * The kernel's count of connections dropped because a listen queue was full (Linux TcpExt
 * ListenOverflows), or undefined. A dropped SYN is retried after a second, which shows up as
 * a low rate with a normal CONNECT → CONNACK latency.
 */
function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      if (!lines[i].startsWith('TcpExt:')) continue;
      const at = lines[i].split(' ').indexOf('ListenOverflows');
      return at < 0 ? undefined : Number(lines[i + 1].split(' ')[at]);
    }
  } catch {
    // not Linux
  }
  return undefined;
}

/** CONNACK's return/reason code once the whole packet is in `buf`, else -1. */
function connackCode(buf) {
  if (buf.length < 2) return -1;
  let i = 1;
  let remaining = 0;
  let mul = 1;
  for (;;) {
    if (i >= buf.length) return -1;
    const b = buf[i++];
    remaining += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  if (buf.length < i + remaining) return -1;
  if (buf[0] !== 0x20) return 0x100 + buf[0];
  return buf[i + 1];
}

/**
 * @param {{ port: number, version: 3|4|5, total: number, concurrency: number, sampleRss?: () => Promise<number | undefined> }} spec
 */
export async function runConnectStorm(spec) {
  const { port, version, total, concurrency } = spec;
  const id = `mqtc${process.pid}r${++stormCounter}`;
  // Encoded before the clock starts: the client's own cost stays out of the measurement.
  const connects = [];
  for (let k = 0; k < total; k++) connects.push(encode({ type: 'connect', protocolVersion: version, clean: true, keepalive: 60, clientId: `${id}-${k}` }, version));
  const rssBefore = spec.sampleRss === undefined ? undefined : await spec.sampleRss();
  const lat = new Float64Array(total);
  const tcpLat = new Float64Array(total);
  let tcpCount = 0;
  const sockets = [];
  let opened = 0;
  let acked = 0;
  let failed = 0;
  let firstError;
  let t0 = 0;
  let tEnd = 0;
  let overflows0;

  await new Promise((resolve) => {
    const timer = setTimeout(() => {
      firstError ??= `only ${acked} of ${total} CONNACKs within ${TIMEOUT_MS / 1000} s`;
      resolve();
    }, TIMEOUT_MS);
    const settle = () => {
      if (acked + failed < total) {
        if (opened < total) openOne();
        return;
      }
      tEnd = performance.now();
      spec.onFinish?.();
      clearTimeout(timer);
      resolve();
    };
    const openOne = () => {
      const k = opened++;
      const openedAt = performance.now();
      let sentAt = 0;
      let got = null;
      let done = false;
      const socket = netConnect({ host: HOST, port, noDelay: true });
      sockets.push(socket);
      const fail = (why) => {
        if (done) return;
        done = true;
        failed++;
        firstError ??= why;
        socket.destroy();
        settle();
      };
      socket.once('connect', () => {
        sentAt = performance.now();
        tcpLat[tcpCount++] = sentAt - openedAt;
        socket.write(connects[k]);
      });
      socket.on('data', (chunk) => {
        if (done) return;
        got = got === null ? chunk : Buffer.concat([got, chunk]);
        const code = connackCode(got);
        if (code === -1) return;
        if (code !== 0) {
          fail(code > 0xff ? `expected CONNACK, got packet byte 0x${(code - 0x100).toString(16)}` : `CONNACK code 0x${code.toString(16)}`);
          return;
        }
        done = true;
        lat[acked++] = performance.now() - sentAt;
        settle();
      });
      socket.on('error', (err) => fail(`socket error: ${err.message}`));
      socket.on('close', () => fail('closed before CONNACK'));
    };
    overflows0 = listenOverflows();
    spec.onStart?.();
    t0 = performance.now();
    for (let k = 0; k < concurrency && k < total; k++) openOne();
  });

  const overflows1 = listenOverflows();
  const rss = spec.sampleRss === undefined ? undefined : await spec.sampleRss();
  // Close them all and wait until the broker has let go of each.
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise((resolve) => {
          if (s.destroyed) return resolve();
          const timer = setTimeout(() => {
            s.destroy();
            resolve();
          }, 5000);
          s.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          s.removeAllListeners('error');
          s.on('error', () => undefined);
          s.end(DISCONNECT);
        }),
    ),
  );

  const elapsedMs = (tEnd || performance.now()) - t0;
  const sorted = lat.subarray(0, acked).sort();
  return {
    rate: elapsedMs > 0 ? (acked / elapsedMs) * 1000 : 0,
    elapsedMs,
    sent: total,
    expected: total,
    received: acked,
    lost: total - acked,
    duplicates: 0,
    outOfOrder: 0,
    unacked: 0,
    refused: failed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    rss,
    rssBefore,
    tcpP99: percentile(tcpLat.subarray(0, tcpCount).sort(), 0.99),
    listenOverflows: overflows0 === undefined || overflows1 === undefined ? undefined : overflows1 - overflows0,
    error: firstError,
  };
}
