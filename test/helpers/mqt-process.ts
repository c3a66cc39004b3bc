/**
 * `mqt` as a long-running process (a broker), with real MQTT.js clients: the built binary in
 * a child process, its output kept, signals to stop it. Call `cleanUpMqt()` in afterEach: it
 * force-closes the clients and kills whatever is still running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect, type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { MQT_BIN, REPO_ROOT } from './spawn-mqt.js';

export interface RunningBroker {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `pattern` (checked against all output so far). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Exit code and signal, once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcessWithoutNullStreams>();
const clients = new Set<MqttClient>();

/** Closes every client and kills every process the helpers started (for afterEach). */
export function cleanUpMqt(): void {
  for (const c of clients) c.end(true);
  clients.clear();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** An MQTT.js client the test made itself, closed by cleanUpMqt(). */
export function trackClient(client: MqttClient): MqttClient {
  clients.add(client);
  return client;
}

/** Starts `mqt …args` and leaves it running; afterEach kills whatever is left. */
export function startMqt(args: string[]): RunningBroker {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [MQT_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout: (pattern, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m !== null) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`mqt exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; stdout: ${out}; stderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

export /** An MQTT.js client, connected (CONNACK received); afterEach force-closes it. */
function mqttClient(url: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.add(client);
  return new Promise((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', (connack) => {
      client.off('error', reject);
      // A broker DISCONNECT with a reason later must not crash the worker.
      client.on('error', () => undefined);
      resolve({ client, connack });
    });
  });
}

export function nextMessage(client: MqttClient, timeoutMs = 5000): Promise<{ topic: string; payload: string; qos: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
    client.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString(), qos: packet.qos });
    });
  });
}

export async function stop(broker: RunningBroker, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  broker.child.kill(signal);
  return broker.exited;
}
