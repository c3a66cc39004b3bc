/**
 * The load of `npm run bench:memory`, in a process of its own (forked by bench-memory.mjs, its
 * open-file limit raised for it): idle MQTT 3.1.1 clients on raw sockets, encoded with our codec
 * from dist/. Each connects (clean session, keep-alive 60 s), waits for its CONNACK, subscribes
 * to a topic of its own (QoS 0), waits for its SUBACK and then stays connected, silent.
 *
 * Over IPC:
 *   { type: 'open', port, count, concurrency }  → { type: 'opened', ms, failed, error? } once
 *                                                  every client is SUBACKed (or failed)
 *   { type: 'close' }                            → { type: 'closed', ms } once every socket is closed
 *                                                  (DISCONNECT, then end)
 */
import { connect as netConnect } from 'node:net';
import { encode } from '../../dist/core/codec/index.js';
import { frames } from './frames.mjs';

const HOST = '127.0.0.1';
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const TIMEOUT_MS = 120_000;

const sockets = [];


function open({ port, count, concurrency }) {
  const tag = `mqtm${process.pid}`;
  const started = performance.now();
  let opened = 0;
  let done = 0;
  let failed = 0;
  let firstError;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      firstError ??= `only ${done - failed} of ${count} clients subscribed within ${TIMEOUT_MS / 1000} s`;
      resolve({ failed: count - (done - failed), error: firstError });
    }, TIMEOUT_MS);
    const finish = (error) => {
      done++;
      if (error !== undefined) {
        failed++;
        firstError ??= error;
      }
      if (done === count) {
        clearTimeout(timer);
        resolve({ ms: performance.now() - started, failed, error: firstError });
      } else if (opened < count) openOne();
    };
    const openOne = () => {
      const k = opened++;
      const socket = netConnect({ host: HOST, port, noDelay: true });
      sockets.push(socket);
      let pending = Buffer.alloc(0);
      let settled = false;
      const settle = (error) => {
        if (settled) return;
        settled = true;
        finish(error);
      };
      socket.once('connect', () => {
        socket.write(encode({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 60, clientId: `${tag}-${k}` }, 4));
      });
      socket.on('data', (chunk) => {
        const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const { packets, rest } = frames(buf);
        pending = rest.length === 0 ? rest : Buffer.from(rest);
        for (const [first, start, end] of packets) {
          if (first === 0x20 && end - start === 2 && buf[start + 1] === 0) {
            socket.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `bench/memory/${tag}/${k}`, qos: 0 }] }, 4));
          } else if (first === 0x90 && end - start === 3 && buf[start + 2] < 0x80) {
            settle();
          } else {
            settle(`client ${k}: unexpected or refusing packet 0x${first.toString(16)} of ${end - start} bytes (a CONNACK or SUBACK that failed?)`);
          }
        }
      });
      socket.on('error', (err) => settle(`client ${k}: ${err.message}`));
      socket.on('close', () => settle(`client ${k}: closed by the server before its SUBACK`));
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) openOne();
  });
}

function close() {
  const started = performance.now();
  return new Promise((resolve) => {
    let open = 0;
    const closed = () => {
      if (--open === 0) resolve({ ms: performance.now() - started });
    };
    for (const s of sockets) {
      if (s.destroyed) continue;
      open++;
      s.once('close', closed);
      s.end(DISCONNECT);
    }
    sockets.length = 0;
    if (open === 0) resolve({ ms: 0 });
    // A server that never closes its side: do not wait for it past a few seconds.
    setTimeout(() => resolve({ ms: performance.now() - started, stragglers: open }), 10_000).unref();
  });
}

process.on('message', async (m) => {
  if (m.type === 'open') process.send({ type: 'opened', ...(await open(m)) });
  else if (m.type === 'close') process.send({ type: 'closed', ...(await close()) });
});
process.on('disconnect', () => process.exit(0));
