/**
 * The coordinator's view of a shard: the same calls whether it runs in this thread (LocalShard)
 * or in a worker thread (WorkerShard, one per worker, speaking by messages).
 *
 * The worker runs the compiled engine, dist/core/bench/worker.js beside this file. When the
 * engine itself runs from TypeScript sources (the tests, under vitest), there is no compiled
 * file beside it: setWorkerScript() names one (the tests compile it first).
 */
import { Worker } from 'node:worker_threads';
import { MqttError } from '../codec/errors.js';
import { now } from './clock.js';
import { Shard, type ShardInit, type ShardReport } from './shard.js';

type CallBody = { op: 'setup' | 'stop' | 'storm' | 'report' | 'close' | 'abort' | 'clock' } | { op: 'begin'; phase: 'warmup' | 'measure'; startAt: number };
export type ShardCall = CallBody & { id: number };

export interface ShardHandle {
  setup(): Promise<void>;
  begin(phase: 'warmup' | 'measure', startAt: number): Promise<void>;
  stop(): Promise<void>;
  storm(): Promise<void>;
  report(): Promise<ShardReport>;
  close(): Promise<void>;
  /** Closes every connection at once and ends the worker; never rejects. */
  abort(): Promise<void>;
  /** The shard thread's reading of the shared clock (clock.ts). */
  clock(): Promise<number>;
}

interface SerializedError {
  message: string;
  name: string;
  reasonCode?: number;
  code?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { message: String(err), name: 'Error' };
  const out: SerializedError = { message: err.message, name: err.name };
  if (err instanceof MqttError) out.reasonCode = err.reasonCode;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  return out;
}

function deserializeError(e: SerializedError): Error {
  if (e.reasonCode !== undefined) return new MqttError(e.reasonCode, e.message);
  const err = e.name === 'RangeError' ? new RangeError(e.message) : new Error(e.message);
  if (e.code !== undefined) Object.assign(err, { code: e.code });
  return err;
}

export class LocalShard implements ShardHandle {
  private readonly shard: Shard;

  constructor(init: ShardInit) {
    this.shard = new Shard(init);
  }

  setup(): Promise<void> {
    return this.shard.setup();
  }

  async begin(phase: 'warmup' | 'measure', startAt: number): Promise<void> {
    this.shard.begin(phase, startAt);
  }

  async stop(): Promise<void> {
    this.shard.stop();
  }

  storm(): Promise<void> {
    return this.shard.storm();
  }

  async report(): Promise<ShardReport> {
    return this.shard.report();
  }

  close(): Promise<void> {
    return this.shard.close();
  }

  async abort(): Promise<void> {
    this.shard.abort();
  }

  async clock(): Promise<number> {
    return now();
  }
}

let scriptOverride: URL | undefined;

/** Names the worker script to run (tests, running from TypeScript sources); undefined restores the default. */
export function setWorkerScript(url: URL | undefined): void {
  scriptOverride = url;
}

function workerScript(): URL {
  if (scriptOverride !== undefined) return scriptOverride;
  if (import.meta.url.endsWith('.ts')) {
    throw new Error('workers > 1 runs the compiled engine (worker.js): build it with `npm run build`, or name it with setWorkerScript()');
  }
  return new URL('./worker.js', import.meta.url);
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class WorkerShard implements ShardHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | undefined;

  constructor(init: ShardInit) {
    this.worker = new Worker(workerScript(), { workerData: init });
    this.worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: SerializedError }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(deserializeError(m.error!));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`bench worker ${init.shard} exited with code ${code}`)));
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(call: CallBody): Promise<T> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...call, id });
    });
  }

  setup(): Promise<void> {
    return this.call({ op: 'setup' });
  }

  begin(phase: 'warmup' | 'measure', startAt: number): Promise<void> {
    return this.call({ op: 'begin', phase, startAt });
  }

  stop(): Promise<void> {
    return this.call({ op: 'stop' });
  }

  storm(): Promise<void> {
    return this.call({ op: 'storm' });
  }

  report(): Promise<ShardReport> {
    return this.call({ op: 'report' });
  }

  async close(): Promise<void> {
    try {
      await this.call({ op: 'close' });
    } finally {
      await this.worker.terminate();
    }
  }

  async abort(): Promise<void> {
    try {
      await Promise.race([this.call({ op: 'abort' }), new Promise((r) => setTimeout(r, 500))]);
    } catch {
      // the worker is gone already
    }
    await this.worker.terminate();
  }

  clock(): Promise<number> {
    return this.call({ op: 'clock' });
  }
}
