/**
 * A node's connections to Redis: one for commands (commits, reads), one subscribed to the
 * cluster's channels, one for the blocking read of the node's own stream (a blocked
 * connection can do nothing else). Each reconnects by itself; the link reports down once and
 * up once per outage, and commands sent while it is down fail at once instead of waiting in a
 * queue (a commit that cannot be made durable must say so, not hang).
 */
import { EventEmitter } from 'node:events';
import { createClient, RESP_TYPES } from '@redis/client';
import { maskUrl } from '../net/mask-url.js';

export { maskUrl };

export type RedisArg = string | Buffer;
export type RedisReply = null | number | Buffer | string | RedisReply[];

type Client = ReturnType<typeof createClient>;

export interface LinkEvents {
  down: [reason: string];
  up: [];
}

export interface RedisLinkOptions {
  url: string;
  /** How long the first connection may take before start() rejects. */
  connectTimeoutMs?: number;
}

export class RedisLink extends EventEmitter<LinkEvents> {
  readonly cmd: Client;
  private readonly sub: Client;
  private readonly reader: Client;
  /** Replies as Buffers (payloads, frames), for reads. */
  private readonly cmdBuffers: Client;
  private readonly readerBuffers: Client;
  private isUp = false;
  private started = false;
  private startFailed: ((err: Error) => void) | undefined = undefined;
  private closed = false;
  private lastError = '';

  constructor(private readonly options: RedisLinkOptions) {
    super();
    const make = (): Client =>
      createClient({
        url: options.url,
        RESP: 2,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: options.connectTimeoutMs ?? 5000,
          // Back within a second of Redis returning, without hammering it while it is away.
          reconnectStrategy: (retries: number) => (this.closed ? false : Math.min(50 + retries * 100, 1000)),
        },
      }) as Client;
    this.cmd = make();
    this.sub = make();
    this.reader = make();
    this.cmdBuffers = this.cmd.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as Client;
    this.readerBuffers = this.reader.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as Client;
    for (const c of [this.cmd, this.sub, this.reader]) {
      c.on('error', (err: Error) => this.failed(err));
      c.on('end', () => this.failed(new Error('connection closed')));
    }
    this.cmd.on('ready', () => this.ready());
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Connects all three; rejects with a one-line error when Redis cannot be reached in time. */
  async start(): Promise<void> {
    const timeout = this.options.connectTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${maskUrl(this.options.url)}: ${this.lastError || `no answer within ${timeout} ms`}`)), timeout);
      // Refused, or no such host: said at once, not after the timeout (the client would retry).
      this.startFailed = (err) => reject(new Error(`cannot reach Redis at ${maskUrl(this.options.url)}: ${err.message}`));
    });
    try {
      await Promise.race([Promise.all([this.cmd.connect(), this.sub.connect(), this.reader.connect()]), deadline]);
      await Promise.race([this.cmd.sendCommand(['PING']), deadline]);
    } catch (err) {
      this.closed = true;
      await this.quitAll();
      if (err instanceof Error && err.message.startsWith('cannot reach Redis')) throw err;
      throw new Error(`cannot reach Redis at ${maskUrl(this.options.url)}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.startFailed = undefined;
    }
    this.isUp = true;
    this.started = true;
  }

  /** One command; replies as Buffers. */
  send(args: RedisArg[]): Promise<RedisReply> {
    return this.cmdBuffers.sendCommand(args) as Promise<RedisReply>;
  }

  /** One command; string replies. */
  sendText(args: RedisArg[]): Promise<RedisReply> {
    return this.cmd.sendCommand(args) as Promise<RedisReply>;
  }

  /** Several commands in one MULTI/EXEC; replies as Buffers or strings. */
  async exec(commands: RedisArg[][], buffers: boolean): Promise<RedisReply[]> {
    const m = (buffers ? this.cmdBuffers : this.cmd).multi();
    for (const c of commands) m.addCommand(c);
    return (await m.exec()) as unknown as RedisReply[];
  }

  /** A blocking read on the reader connection (XREAD BLOCK …). */
  read(args: RedisArg[]): Promise<RedisReply> {
    return this.readerBuffers.sendCommand(args) as Promise<RedisReply>;
  }

  get readerReady(): boolean {
    return this.reader.isReady;
  }

  publish(channel: string, message: Buffer): Promise<number> {
    return this.cmd.sendCommand(['PUBLISH', channel, message]) as Promise<number>;
  }

  /** Subscribes to `channels`; messages arrive as Buffers. Resubscribed after a reconnect by the client. */
  async subscribe(channels: string[], listener: (message: Buffer, channel: string) => void): Promise<void> {
    await this.sub.subscribe(channels, (message: Buffer, channel: Buffer) => listener(message, channel.toString()), true);
  }

  private failed(err: Error): void {
    this.lastError = err.message;
    this.startFailed?.(err);
    if (!this.isUp || this.closed) return;
    this.isUp = false;
    this.emit('down', err.message);
  }

  /** The command connection is back after an outage (the first connection is start()'s). */
  private ready(): void {
    if (!this.started || this.isUp || this.closed) return;
    this.isUp = true;
    this.emit('up');
  }

  /** Closes all three connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isUp = false;
    await this.quitAll();
  }

  private async quitAll(): Promise<void> {
    await Promise.all(
      [this.cmd, this.sub, this.reader].map(async (c) => {
        try {
          if (c.isOpen) c.destroy();
        } catch {
          // already gone
        }
      }),
    );
  }
}
