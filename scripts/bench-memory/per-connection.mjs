#!/usr/bin/env node
/**
 * node scripts/bench-memory/per-connection.mjs [--connections N] [--top N] [--keep DIR] [--young-growth N]
 *
 * Where the memory of an idle connection goes, for whoever works on src/core/broker and
 * src/core/codec. The library broker (dist/core/broker, built) runs in this process on a free
 * loopback port; the clients of `npm run bench:memory` (load.mjs: MQTT 3.1.1, clean session,
 * each subscribed to a topic of its own) come from a child process. Two heap snapshots, with
 * the N connections and once they have all left, are compared object by object:
 *   - V8 heap: count and bytes per connection by kind of object (constructor name; arrays,
 *     closures and V8-internal objects named after the object and property that hold them,
 *     e.g. `Outbox.bufs (elements)`), largest first;
 *   - outside the V8 heap: external and ArrayBuffer memory (process.memoryUsage()), and the
 *     growth of the malloc heap and of the anonymous mappings (/proc/self/smaps), which hold
 *     libuv's and Node's per-socket C++ objects and the chunks sockets read into.
 * The young generation grows as bin/mqt.js lets it grow for `mqt broker` (--young-growth 1:
 * not at all); V8's own default is 2 (doubling). --keep DIR keeps the two snapshots there.
 * Linux only (/proc). Needs N + 256 open files in this process and in the load process (it
 * re-runs itself through `bash -c 'ulimit -Sn …'`).
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';

const SELF = fileURLToPath(import.meta.url);
const LOAD = fileURLToPath(new URL('./load.mjs', import.meta.url));
const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    top: { type: 'string', default: '30' },
    keep: { type: 'string' },
    'young-growth': { type: 'string', default: '1' },
  },
  strict: true,
});
const connections = Number(args.connections);
const top = Number(args.top);
if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a positive whole number, got '${args.connections}'`);

if (process.env.MQT_PER_CONNECTION_CHILD === undefined) {
  // Re-run with the open-file limit raised (Node cannot raise its own).
  const files = connections + 256;
  const r = spawnSync('bash', ['-c', `ulimit -Sn ${files} && exec "$0" "$@"`, process.execPath, ...process.execArgv, '--expose-gc', SELF, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, MQT_PER_CONNECTION_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
}

// As bin/mqt.js sets it for `mqt broker` (V8 takes it only once the heap is made, not as a flag).
v8.setFlagsFromString(`--semi-space-growth-factor=${Number(args['young-growth'])}`);
const { createBroker } = await import('../../dist/core/broker/index.js');
const progress = (text) => process.stderr.write(`per-connection: ${text}\n`);
const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'mqt-per-connection-'));

/** Rss of the malloc heap ([heap]) and of anonymous mappings, in bytes. */
function mappings() {
  let heap = 0;
  let anon = 0;
  let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1];
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss === null) continue;
    if (name === '[heap]') heap += Number(rss[1]) * 1024;
    else if (name === '') anon += Number(rss[1]) * 1024;
  }
  return { heap, anon };
}

/** Memory now, after two full collections. */
function measure() {
  globalThis.gc();
  globalThis.gc();
  return { usage: process.memoryUsage(), maps: mappings() };
}

function snapshot(tag) {
  globalThis.gc();
  return v8.writeHeapSnapshot(join(dir, `${tag}.heapsnapshot`));
}

/** Self size and count per kind of object in a snapshot. */
function kinds(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  // The first strong retainer of each node, and the name of the edge from it.
  const owner = new Int32Array(count).fill(-1);
  const ownerEdge = new Array(count);
  for (let n = 0, e = 0; n < count; n++) {
    const end = e + nodes[n * nf + iEdges] * ef;
    for (; e < end; e += ef) {
      const type = edgeTypes[edges[e + eType]];
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[e + eTo] / nf;
      if (owner[to] !== -1) continue;
      owner[to] = n;
      ownerEdge[to] = type === 'element' || type === 'hidden' ? `[${type}]` : String(strings[edges[e + eName]]);
    }
  }
  const label = (n) => {
    const type = nodeTypes[nodes[n * nf + iType]];
    const name = String(strings[nodes[n * nf + iName]]);
    return type === 'object' || type === 'native' || type === 'synthetic' ? name : type === 'closure' ? `closure ${name || '(anonymous)'}` : type;
  };
  // Objects of a class of their own are named by it; the rest (arrays, plain objects, Maps'
  // tables, closures, contexts, strings) after the object and property that hold them.
  const GENERIC = new Set(['Array', 'Object', 'Map', 'Set', 'system / Context', 'closure', 'array', 'hidden', 'code', 'string', 'concatenated string', 'sliced string', 'number', 'object shape']);
  const generic = (n) => GENERIC.has(label(n)) || GENERIC.has(nodeTypes[nodes[n * nf + iType]]);
  /** `Outbox.bufs.elements (array)`: the path from the nearest object of a class of its own. */
  const describe = (n) => {
    const type = nodeTypes[nodes[n * nf + iType]];
    const own = label(n);
    if (type === 'synthetic' || type === 'native') return `${own} (C++, outside the V8 heap)`;
    if (!generic(n)) return own;
    const path = [];
    let at = n;
    for (let depth = 0; depth < 4 && owner[at] !== -1 && generic(at); depth++) {
      path.unshift(ownerEdge[at]);
      at = owner[at];
    }
    return `${generic(at) ? `${label(at)}…` : label(at)}.${path.join('.')} (${own})`;
  };
  const out = new Map();
  for (let n = 0; n < count; n++) {
    const key = describe(n);
    const k = out.get(key) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += nodes[n * nf + iSize];
    out.set(key, k);
  }
  return out;
}

const broker = createBroker();
const [address] = await broker.listen({ port: 0, host: '127.0.0.1' });
const load = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const request = (message, answer) =>
  new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.type !== answer) return;
      load.off('message', onMessage);
      resolve(m);
    };
    load.on('message', onMessage);
    load.send(message);
  });

try {
  // Memory is read before any snapshot (writing one churns the malloc heap); the objects are
  // compared between the snapshot with the clients and the one once they have all left.
  const before = measure();
  progress(`opening ${connections} connections`);
  const opened = await request({ type: 'open', port: address.port, count: connections, concurrency: 100 }, 'opened');
  if (opened.failed > 0) throw new Error(`${opened.failed} clients failed: ${opened.error}`);
  await new Promise((r) => setTimeout(r, 1000));
  const held = measure();
  progress('snapshot with them');
  const heldFile = snapshot('held');
  progress('closing them');
  await request({ type: 'close' }, 'closed');
  await new Promise((r) => setTimeout(r, 1000));
  progress('snapshot once they left');
  const leftFile = snapshot('left');
  progress('comparing');
  const a = kinds(leftFile);
  const b = kinds(heldFile);
  const rows = [];
  for (const [key, k] of b) {
    const was = a.get(key) ?? { count: 0, bytes: 0 };
    const bytes = k.bytes - was.bytes;
    if (bytes !== 0) rows.push({ key, count: (k.count - was.count) / connections, bytes: bytes / connections });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const heapTotal = rows.reduce((s, r) => s + r.bytes, 0);
  const per = (x, y) => ((y - x) / connections).toFixed(0).padStart(7);
  const lines = [
    `per connection, ${connections} idle MQTT 3.1.1 clients each subscribed to a topic of its own (library broker, node ${process.version})`,
    '',
    'V8 heap, by kind of object (bytes and objects per connection):',
    ...rows.slice(0, top).map((r) => `${r.bytes.toFixed(0).padStart(7)} B  ${r.count.toFixed(2).padStart(6)}  ${r.key}`),
    `${heapTotal.toFixed(0).padStart(7)} B  in all (${rows.length} kinds)`,
    '',
    'process.memoryUsage() and /proc/self/smaps (bytes per connection):',
    `${per(before.usage.heapUsed, held.usage.heapUsed)} B  heapUsed`,
    `${per(before.usage.heapTotal, held.usage.heapTotal)} B  heapTotal (V8 heap pages committed)`,
    `${per(before.usage.external, held.usage.external)} B  external (of which ArrayBuffers ${per(before.usage.arrayBuffers, held.usage.arrayBuffers).trim()} B)`,
    `${per(before.maps.heap, held.maps.heap)} B  malloc heap ([heap] resident): Node's and libuv's C++ objects, read buffers`,
    `${per(before.maps.anon, held.maps.anon)} B  anonymous mappings resident (V8 heap pages, other malloc arenas)`,
    `${per(before.usage.rss, held.usage.rss)} B  RSS`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  load.kill();
  await broker.close();
  if (args.keep === undefined) rmSync(dir, { recursive: true, force: true });
}
