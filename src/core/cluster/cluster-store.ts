/**
 * A cluster node's store: the RedisStore (sessions and retained messages keyed so any node can
 * read them) plus the node's own writes that ride in the same commit: messages for other nodes
 * (XADD), the trim of what this node read (XTRIM), interest and ownership changes. Retained
 * changes are also said on the retained channel, so every node's copy follows.
 *
 * Those riding writes are "soft": when a commit fails because Redis is away and it held nothing
 * else, the messages for other nodes go back to the node's outage buffer (sent first when Redis
 * returns) and the commit counts as done, so local traffic is acknowledged as before. A commit
 * that also held session or retained writes fails as any store's commit does.
 */
import { RedisStore, type RedisStoreOptions } from './redis-store.js';
import type { BrokerStore, StoredMessage, StoredDelivery, StoredSession, StoredState } from '../store/types.js';
import { decodeMessage } from '../store/record-codec.js';
import { encodeFrame } from './frame.js';
import { clusterKeys, type ClusterKeys } from './keys.js';

type Args = (string | Buffer)[];

export class ClusterStore implements BrokerStore {
  readonly inner: RedisStore;
  private readonly keys: ClusterKeys;
  private readonly nodeId: string;
  /** Writes staged since the last commit that a lost Redis would lose (sessions, retained). */
  private durable = 0;
  /** XADDs staged since the last commit, by target stream: handed back when that commit fails softly. */
  private frames: { stream: string; frame: Buffer }[] = [];
  /** Where frames go back to when a soft commit fails (the node's outage buffer). */
  onUnsent: ((frames: { stream: string; frame: Buffer }[]) => void) | undefined = undefined;
  /**
   * The node's own commands, kept apart from the store's writes and sent after them in the same
   * MULTI: a trim of what the node read after what routing it stored, and never lost to the
   * clear() of a resync, which starts the store's writes over.
   */
  private commands: Args[] = [];
  /** Disowns staged by client id: a claim of the same client before the commit cancels its own. */
  private readonly disowns = new Set<string>();

  constructor(options: RedisStoreOptions) {
    this.inner = new RedisStore(options);
    this.keys = clusterKeys(options.keyPrefix ?? 'mqt:');
    this.nodeId = options.nodeId;
  }

  // ---- the node's own writes -------------------------------------------------------------

  /** A command of the node's (interest, ownership, will records, trims), in the next commit. */
  stage(args: Args): void {
    this.commands.push(args);
  }

  /**
   * Messages for another node's stream, in the next commit: one stream entry holding them all
   * (field `m` once per message, in order), so a tick's messages to a node cost Redis one entry.
   */
  stageFrames(stream: string, frames: readonly Buffer[]): void {
    const args: (string | Buffer)[] = ['XADD', stream, '*'];
    for (const f of frames) {
      args.push('m', f);
      this.frames.push({ stream, frame: f });
    }
    this.commands.push(args);
  }

  /** Called at the start of every commit: the node stages what it gathered this tick (its frames). */
  beforeCommit: (() => void) | undefined = undefined;

  own(clientId: string): void {
    this.disowns.delete(clientId);
    this.commands.push(['SET', this.keys.owner(clientId), this.nodeId], ['SADD', this.keys.owned(this.nodeId), clientId]);
  }

  /** Lets go of `clientId` at the next commit, unless a claim of it comes first (cancelDisown). */
  disown(clientId: string): void {
    this.disowns.add(clientId);
  }

  /** A claim of `clientId` is under way here: a disown staged for its last connection must not undo it. */
  cancelDisown(clientId: string): void {
    this.disowns.delete(clientId);
  }

  /** This node no longer holds `clientId` (it moved to another node, which owns its key now). */
  forget(clientId: string): void {
    this.commands.push(['SREM', this.keys.owned(this.nodeId), clientId]);
  }

  loadClient(clientId: string): Promise<StoredState | undefined> {
    return this.inner.loadClient(clientId);
  }

  /** A value of the retained hash as a message, or undefined when it cannot be read. */
  retainedMessage(value: Buffer): StoredMessage | undefined {
    try {
      return decodeMessage(0, value);
    } catch {
      return undefined;
    }
  }

  // ---- BrokerStore --------------------------------------------------------------------------

  load(): Promise<StoredState> {
    return this.inner.load();
  }
  putMessage(msg: StoredMessage): void {
    this.inner.putMessage(msg);
  }
  removeMessage(id: number): void {
    this.inner.removeMessage(id);
  }
  putDelivery(d: StoredDelivery): void {
    this.inner.putDelivery(d);
    this.durable++;
  }
  removeDelivery(clientId: string, seq: number): void {
    this.inner.removeDelivery(clientId, seq);
    this.durable++;
  }
  putIncoming(clientId: string, packetId: number): void {
    this.inner.putIncoming(clientId, packetId);
    this.durable++;
  }
  removeIncoming(clientId: string, packetId: number): void {
    this.inner.removeIncoming(clientId, packetId);
    this.durable++;
  }
  putSession(s: StoredSession): void {
    this.inner.putSession(s);
    this.durable++;
  }
  removeSession(clientId: string): void {
    this.inner.removeSession(clientId);
    this.durable++;
  }
  putRetained(msg: StoredMessage): void {
    this.inner.putRetained(msg);
    this.inner.stage(['PUBLISH', this.keys.retainedChannel, retainedFrame(msg, this.nodeId)]);
    this.durable++;
  }
  removeRetained(topic: string): void {
    this.inner.removeRetained(topic);
    this.inner.stage(['PUBLISH', this.keys.retainedChannel, retainedFrame({ id: 0, topic, payload: Buffer.alloc(0), qos: 0, retain: true, properties: undefined, publisherId: '', expiresAt: 0 }, this.nodeId)]);
    this.durable++;
  }
  clear(): void {
    this.inner.clear();
    this.durable++;
  }
  probe(): Promise<void> {
    return this.inner.probe();
  }

  commit(): Promise<void> {
    this.beforeCommit?.();
    // Every disown of the tick in one script call.
    if (this.disowns.size > 0) {
      this.inner.stage(['EVAL', DISOWN_MANY, '0', this.nodeId, this.keys.prefix, ...this.disowns]);
      this.disowns.clear();
    }
    for (const c of this.commands) this.inner.stage(c);
    this.commands = [];
    const durable = this.durable;
    const frames = this.frames;
    this.durable = 0;
    this.frames = [];
    return this.inner.commit().catch((err: unknown) => {
      // Only messages for other nodes (and the node's own bookkeeping, written anew when Redis
      // is back) were at stake: they wait in the outage buffer, and local traffic goes on.
      if (durable === 0 && this.onUnsent !== undefined) {
        if (frames.length > 0) this.onUnsent(frames);
        return;
      }
      throw err;
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Lets go of many clients: ARGV[1] this node, ARGV[2] the key prefix, then the client ids; each
 * leaves the owned set, and its owner key goes only while it still names this node.
 */
const DISOWN_MANY = `local me, p = ARGV[1], ARGV[2]
for i = 3, #ARGV do
  local c = ARGV[i]
  redis.call('SREM', p .. 'owned:' .. me, c)
  if redis.call('GET', p .. 'owner:' .. c) == me then redis.call('DEL', p .. 'owner:' .. c) end
end
return 0`;

/** A retained change as every node's copy takes it: a frame of the message (empty payload: deleted). */
function retainedFrame(m: StoredMessage, nodeId: string): Buffer {
  const { id, ...message } = m;
  return encodeFrame({ ...message, retain: true, origin: nodeId, originId: id, normal: false, shares: [] });
}
