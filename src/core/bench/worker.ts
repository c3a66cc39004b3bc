/**
 * A bench worker thread: runs one Shard of the run (workers.ts starts it) and answers the
 * coordinator's calls. The same engine code as the calling thread, only reached by messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { now } from './clock.js';
import { Shard, type ShardInit } from './shard.js';
import { serializeError, type ShardCall } from './workers.js';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs as a worker thread');

const init = workerData as ShardInit;
// Structured clone turns a Buffer into a plain Uint8Array: the codec wants a Buffer back.
const password = init.target.connection.password as Uint8Array | undefined;
if (password !== undefined && !Buffer.isBuffer(password)) {
  init.target.connection.password = Buffer.from(password.buffer, password.byteOffset, password.byteLength);
}
const shard = new Shard(init);

async function run(call: ShardCall): Promise<unknown> {
  switch (call.op) {
    case 'setup':
      return shard.setup();
    case 'begin':
      return shard.begin(call.phase, call.startAt);
    case 'stop':
      return shard.stop();
    case 'storm':
      return shard.storm();
    case 'report':
      return shard.report();
    case 'close':
      return shard.close();
    case 'abort':
      return shard.abort();
    case 'clock':
      return now();
  }
}

port.on('message', (call: ShardCall) => {
  run(call).then(
    (value) => port.postMessage({ id: call.id, ok: true, value }),
    (err: unknown) => port.postMessage({ id: call.id, ok: false, error: serializeError(err) }),
  );
});
