/**
 * The parent's handle on the soak's broker process (broker-child.mjs): start it, ask it for a
 * sample, stop it, and know whether and how it died.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./broker-child.mjs', import.meta.url));
const START_TIMEOUT_MS = 20_000;
/** A sample the broker does not answer within this is a broker that no longer serves. */
const SAMPLE_TIMEOUT_MS = 15_000;

export class BrokerProcess {
  constructor() {
    this.child = null;
    this.port = 0;
    this.pid = 0;
    /** How it ended, once it has: 'exited with code N' or 'killed by SIG'. */
    this.exit = null;
    this.stopping = false;
    this.stderr = [];
    this.waiting = [];
  }

  start() {
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child = child;
    this.pid = child.pid;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      process.stderr.write(text);
      for (const l of text.split('\n')) if (l !== '') this.stderr.push(l);
      if (this.stderr.length > 20) this.stderr.splice(0, this.stderr.length - 20);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
        for (const w of this.waiting.splice(0)) w(undefined);
        resolve();
      }),
    );
    child.on('message', (m) => {
      if (m?.type === 'sample') for (const w of this.waiting.splice(0, 1)) w(m);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the broker did not listen within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      child.on('message', (m) => {
        if (m?.type !== 'ready') return;
        clearTimeout(timer);
        this.port = m.port;
        resolve(m.port);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the broker ${this.exit} before listening${this.stderr.length ? `: ${this.stderr.at(-1)}` : ''}`));
      });
    });
  }

  /** Memory, event-loop delay and counts of the broker now; undefined when it is gone or does not answer. */
  sample() {
    if (this.exit !== null || !this.child.connected) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(done);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      }, SAMPLE_TIMEOUT_MS);
      const done = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
      this.waiting.push(done);
      this.child.send({ type: 'sample' });
    });
  }

  /** Stops it (SIGTERM, SIGKILL after 10 s); resolves once it has exited. */
  async stop() {
    if (this.child === null || this.exit !== null) return;
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  kill() {
    if (this.child !== null && this.exit === null) this.child.kill('SIGKILL');
  }
}
