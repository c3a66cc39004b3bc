/**
 * The door of one listener: address rules and the connection limit, decided on the raw socket
 * when the TCP connection arrives, before a byte is read (for TLS, before the handshake). A
 * refused socket is destroyed at once. The log gets one line per address (or per limit) per
 * minute, with the count of refusals since the last line: a scanner or a reconnect loop must
 * not fill it.
 */
import type { Socket } from 'node:net';
import { AddressRules } from '../../net/address-rules.js';
import type { ListenerLog } from './listener.js';

const LOG_EVERY_MS = 60_000;

interface Refusals {
  lastLine: number;
  since: number;
}

export class Gate {
  private readonly rules: AddressRules | undefined;
  /** The admitted sockets still open: their count is what maxConnections limits, and the listener destroys them when it closes. */
  readonly sockets = new Set<Socket>();
  private readonly refusals = new Map<string, Refusals>();
  /**
   * The one 'close' listener the door puts on a socket, shared by all (no closure, no once()
   * wrapper each: an idle connection's bytes are counted).
   */
  private readonly release: (this: Socket) => void;
  /** Set once the listener knows its bound name. */
  name: string;

  constructor(
    name: string,
    private readonly log: ListenerLog,
    allowFrom: string[] | undefined,
    denyFrom: string[] | undefined,
    private readonly maxConnections: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.name = name;
    const sockets = this.sockets;
    this.release = function (this: Socket): void {
      sockets.delete(this);
    };
    this.rules = allowFrom === undefined && denyFrom === undefined ? undefined : new AddressRules(allowFrom, denyFrom);
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Whether `socket` may go on; a refused one is destroyed here. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress;
    if (this.rules !== undefined && !this.rules.allows(address)) {
      socket.destroy();
      this.note(address ?? 'an unknown address', `refused a connection from ${address ?? 'an unknown address'} (allowFrom/denyFrom)`);
      return false;
    }
    if (this.maxConnections !== undefined && this.sockets.size >= this.maxConnections) {
      socket.destroy();
      this.note('\0max', `refused a connection from ${address ?? 'an unknown address'}: ${this.maxConnections} open already (maxConnections)`);
      return false;
    }
    this.sockets.add(socket);
    socket.on('close', this.release);
    return true;
  }

  private note(key: string, line: string): void {
    const now = this.now();
    const seen = this.refusals.get(key);
    if (seen !== undefined && now - seen.lastLine < LOG_EVERY_MS) {
      seen.since++;
      return;
    }
    const more = seen !== undefined && seen.since > 0 ? ` (and ${seen.since} more since the last line)` : '';
    this.log(`${this.name}: ${line}${more}`);
    // Forget addresses whose minute is long over, so the map does not grow with every scanner.
    if (this.refusals.size > 1000) for (const [k, v] of this.refusals) if (now - v.lastLine >= LOG_EVERY_MS) this.refusals.delete(k);
    this.refusals.set(key, { lastLine: now, since: 0 });
  }
}
