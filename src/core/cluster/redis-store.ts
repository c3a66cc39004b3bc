/**
 * The broker's store on a Redis server that several broker nodes share (src/core/cluster).
 * Keyed per client, so any node can read one client's session: its own fields, its deliveries
 * (each with its message inline: a session read elsewhere needs nothing outside its keys) and
 * its incoming QoS 2 ids; retained messages in one hash. Records in the same binary forms as
 * the LMDB store (record-codec.ts).
 *
 * Writes are staged in call order and sent by commit() as one MULTI/EXEC. Commits complete in
 * order; one with nothing staged sends nothing and settles after the one before it.
 */
import { createClient, RESP_TYPES } from '@redis/client';
import { clusterKeys, type ClusterKeys } from './keys.js';
import { decodeDelivery, decodeMessage, decodeSession, deliveryKey, encodeDelivery, encodeMessage, encodeSession, sessionKey } from '../store/record-codec.js';
import type { BrokerStore, StoredDelivery, StoredMessage, StoredSession, StoredState } from '../store/types.js';

type Client = ReturnType<typeof createClient>;
type Args = (string | Buffer)[];

export interface RedisStoreOptions {
  /** A connected client (RESP2), owned by the caller: close() does not quit it. */
  client: Client;
  /** This node: load() reads back the sessions it held. */
  nodeId: string;
  /** Prefix of every key ('mqt:'). */
  keyPrefix?: string;
}


function seqField(seq: number): string {
  return String(seq);
}

export class RedisStore implements BrokerStore {
  private readonly client: Client;
  private readonly buffers: Client;
  private readonly keys: ClusterKeys;
  private readonly nodeId: string;
  private staged: Args[] = [];
  /** Messages as put or seen inline, so a delivery that refers to one by id carries it. */
  private readonly messages = new Map<number, StoredMessage>();
  private last: Promise<void> = Promise.resolve();

  constructor(options: RedisStoreOptions) {
    this.client = options.client;
    this.buffers = options.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as Client;
    this.keys = clusterKeys(options.keyPrefix ?? 'mqt:');
    this.nodeId = options.nodeId;
  }

  /** Any other command for the next commit, in order with the writes. */
  stage(args: Args): void {
    this.staged.push(args);
  }

  get pending(): boolean {
    return this.staged.length > 0;
  }

  // ---- reads --------------------------------------------------------------------------------

  async load(): Promise<StoredState> {
    const ids = (await this.client.sendCommand(['SMEMBERS', this.keys.owned(this.nodeId)])) as string[];
    const sessions: StoredSession[] = [];
    const deliveries: StoredDelivery[] = [];
    const incoming: { clientId: string; packetId: number }[] = [];
    for (const id of ids) {
      const one = await this.loadClient(id);
      if (one === undefined) continue;
      sessions.push(...one.sessions);
      deliveries.push(...one.deliveries);
      incoming.push(...one.incoming);
    }
    // Sessions that came from other nodes carry those nodes' message ids, which may collide:
    // each delivery carries its message, so each gets an id of its own here.
    let next = 1;
    const renumbered = deliveries.map((d) => {
      const id = next++;
      return { ...d, messageId: id, message: d.message === undefined ? undefined : { ...d.message, id } };
    });
    const flat = (await this.buffers.sendCommand(['HGETALL', this.keys.retained])) as Buffer[];
    const retained: StoredMessage[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) retained.push(decodeMessage(0, flat[i + 1]!));
    return { messages: [], sessions, deliveries: renumbered, incoming, retained };
  }

  /** One client's stored state, whoever holds it; undefined when Redis has no session of it. */
  async loadClient(clientId: string): Promise<StoredState | undefined> {
    const k = this.keys;
    const [session, flat, ids] = (await this.buffers
      .multi()
      .addCommand(['GET', k.session(clientId)])
      .addCommand(['HGETALL', k.deliveries(clientId)])
      .addCommand(['SMEMBERS', k.incoming(clientId)])
      .exec()) as unknown as [Buffer | null, Buffer[], Buffer[]];
    if (session === null) return undefined;
    const s = decodeSession(sessionKey(clientId), session);
    const deliveries: StoredDelivery[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) deliveries.push(decodeDelivery(deliveryKey(clientId, Number(flat[i]!.toString())), flat[i + 1]!));
    deliveries.sort((a, b) => a.seq - b.seq);
    return { messages: [], sessions: [s], deliveries, incoming: ids.map((b) => ({ clientId, packetId: Number(b.toString()) })), retained: [] };
  }

  // ---- writes -------------------------------------------------------------------------------

  putMessage(msg: StoredMessage): void {
    this.messages.set(msg.id, msg);
  }

  removeMessage(id: number): void {
    this.messages.delete(id);
  }

  putDelivery(d: StoredDelivery): void {
    let record = d;
    if (d.message !== undefined) this.messages.set(d.messageId, d.message);
    else {
      const m = this.messages.get(d.messageId);
      if (m !== undefined) record = { ...d, message: m };
    }
    this.staged.push(['HSET', this.keys.deliveries(d.clientId), seqField(d.seq), encodeDelivery(record)]);
  }

  removeDelivery(clientId: string, seq: number): void {
    this.staged.push(['HDEL', this.keys.deliveries(clientId), seqField(seq)]);
  }

  putIncoming(clientId: string, packetId: number): void {
    this.staged.push(['SADD', this.keys.incoming(clientId), String(packetId)]);
  }

  removeIncoming(clientId: string, packetId: number): void {
    this.staged.push(['SREM', this.keys.incoming(clientId), String(packetId)]);
  }

  /** A session stored by this node is in its owned set (what load() reads back); the owner key is the cluster store's (cluster-store.ts own). */
  putSession(s: StoredSession): void {
    this.staged.push(['SET', this.keys.session(s.clientId), encodeSession(s)], ['SADD', this.keys.owned(this.nodeId), s.clientId]);
  }

  /** The session's records go, and it leaves this node's owned set; the owner key is the cluster store's (disown). */
  removeSession(clientId: string): void {
    const k = this.keys;
    this.staged.push(['DEL', k.session(clientId), k.deliveries(clientId), k.incoming(clientId)], ['SREM', k.owned(this.nodeId), clientId]);
  }

  putRetained(msg: StoredMessage): void {
    this.staged.push(['HSET', this.keys.retained, msg.topic, encodeMessage(msg)]);
  }

  removeRetained(topic: string): void {
    this.staged.push(['HDEL', this.keys.retained, topic]);
  }

  /**
   * Before a resync writes the broker's whole state anew: what is staged goes (it is written
   * again), and so do the records of the sessions this node holds, found at commit time.
   * Retained messages stay: every node writes its copy of them back, and the others' are theirs.
   */
  clear(): void {
    this.staged = [['EVAL', CLEAR_OWNED, '1', this.keys.owned(this.nodeId), this.keys.prefix]];
  }

  async probe(): Promise<void> {
    this.staged.push(['SET', this.keys.probe(this.nodeId), String(Date.now())]);
    await this.commit();
  }

  commit(): Promise<void> {
    const batch = this.staged;
    if (batch.length === 0) return this.last;
    this.staged = [];
    const m = this.client.multi();
    for (const c of batch) m.addCommand(c);
    const run = m.exec().then(
      () => undefined,
      (err: unknown) => {
        throw new Error(`Redis could not commit: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    // In order: this commit resolves after the one before it, and an empty one after both.
    const prev = this.last;
    const done = run.then(
      () => prev,
      (err: unknown) => prev.then(
        () => Promise.reject(err),
        () => Promise.reject(err),
      ),
    );
    this.last = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.last;
  }
}

/** Deletes the session records of every client in the owned set (KEYS[1]); ARGV[1] is the key prefix. */
const CLEAR_OWNED =
  "for _, c in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', ARGV[1] .. 's:' .. c, ARGV[1] .. 'd:' .. c, ARGV[1] .. 'i:' .. c) end return 0";
