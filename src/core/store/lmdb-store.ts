/**
 * The BrokerStore on disk: one LMDB environment in the persistence directory (lmdb, whose binary
 * comes in an npm platform package). Writes are staged in order and each commit() is one lmdb-js
 * transaction holding them all: its puts run in this thread when the write lock is ours, and
 * the commit and its fsync in lmdb-js's own thread (overlappingSync off: the promise resolves only
 * once the transaction is on disk). Transactions commit in order, so when a commit's promise
 * resolves everything before it is durable, and the event loop never waits for the disk.
 * (Not lmdb-js's event-turn batching: a failed batch of it leaves a rejected promise no caller
 * can handle, which would end the process on a full disk.)
 */
import { mkdirSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Lmdb from 'lmdb';
import { lockDir, type DirLock } from './dir-lock.js';
import {
  FORMAT_VERSION,
  KEY_VERSION,
  decodeDelivery,
  decodeIncomingKey,
  decodeMessage,
  decodeSession,
  deliveryKey,
  encodeDelivery,
  encodeMessage,
  encodeSession,
  encodeVersion,
  incomingKey,
  kindOf,
  messageIdOf,
  messageKey,
  retainedKey,
  retainedTopicOf,
  sessionKey,
} from './record-codec.js';
import type { BrokerStore, StoredDelivery, StoredMessage, StoredSession, StoredState } from './types.js';

const EMPTY = Buffer.alloc(0);
const DONE: Promise<void> = Promise.resolve();
/** Free space a store that ran out must see again before it is written to (a probe of its own). */
const PROBE_FREE_BYTES = 1024 * 1024;

/** lmdb-js rejects a failed commit with a generic error and the cause in a promise of its own. */
function commitCause(err: unknown): Promise<never> {
  const cause = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
  if (cause === undefined || typeof cause.then !== 'function') return Promise.reject(err);
  return cause.then(
    () => Promise.reject(err),
    (e: unknown) => Promise.reject(e),
  );
}

type Db = Lmdb.RootDatabase<Buffer, Buffer>;

export class LmdbStore implements BrokerStore {
  /** Writes staged since the last commit, in order: a value, or null to remove the key. */
  private keys: Buffer[] = [];
  private values: (Buffer | null)[] = [];
  /** The newest commit: resolves once it, and all before it, are on disk. */
  private tail: Promise<void> = DONE;

  private constructor(
    readonly dir: string,
    private readonly db: Db,
    private readonly lock: DirLock,
  ) {}

  /** Opens (creating) the store in `dir`: throws a one-line error when it is locked, unreadable or of another format. */
  static open(dir: string): LmdbStore {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`cannot create the store directory ${dir}: ${(err as Error).message}`);
    }
    const lock = lockDir(dir);
    let db: Db;
    try {
      // Loaded only when persistence is on: a broker without it holds no native module.
      const { open } = createRequire(import.meta.url)('lmdb') as typeof Lmdb;
      db = open<Buffer, Buffer>({ path: dir, encoding: 'binary', keyEncoding: 'binary', compression: false, overlappingSync: false, noSync: false, cache: false, eventTurnBatching: false });
    } catch (err) {
      lock.release();
      throw new Error(`cannot open the store in ${dir}: ${(err as Error).message}; move the directory away to start with an empty store`);
    }
    const store = new LmdbStore(dir, db, lock);
    try {
      store.checkVersion();
    } catch (err) {
      void db.close();
      lock.release();
      throw err;
    }
    return store;
  }

  private checkVersion(): void {
    const v = this.db.getBinary(KEY_VERSION);
    if (v === undefined) {
      // A new store, or one whose version record is gone: an empty directory is new, anything else damaged.
      for (const _ of this.db.getKeys({ limit: 1 })) throw new Error(`the store in ${this.dir} has no format version: it is damaged or not mqt's; move it away to start with an empty store`);
      this.db.putSync(KEY_VERSION, encodeVersion());
      return;
    }
    const version = v.length === 4 ? v.readUInt32BE(0) : -1;
    if (version === FORMAT_VERSION) return;
    if (version > FORMAT_VERSION) throw new Error(`the store in ${this.dir} was written by a newer mqt (format ${version}, this one reads ${FORMAT_VERSION}); upgrade mqt, or move the directory away to start empty`);
    throw new Error(`the store in ${this.dir} has an unknown format (${version}); move it away to start with an empty store`);
  }

  load(): Promise<StoredState> {
    const state: StoredState = { messages: [], sessions: [], deliveries: [], incoming: [], retained: [] };
    try {
      for (const { key, value } of this.db.getRange({})) {
        switch (kindOf(key)) {
          case 'version':
            break;
          case 'message':
            state.messages.push(decodeMessage(messageIdOf(key), value));
            break;
          case 'delivery':
            state.deliveries.push(decodeDelivery(key, value));
            break;
          case 'incoming':
            state.incoming.push(decodeIncomingKey(key));
            break;
          case 'session':
            state.sessions.push(decodeSession(key, value));
            break;
          case 'retained':
            state.retained.push({ ...decodeMessage(0, value), topic: retainedTopicOf(key) });
            break;
          default:
            throw new Error(`a record of unknown kind 0x${(key[0] ?? 0).toString(16)}`);
        }
      }
    } catch (err) {
      return Promise.reject(new Error(`the store in ${this.dir} is damaged (${(err as Error).message}); move it away to start with an empty store`));
    }
    return Promise.resolve(state);
  }

  private put(key: Buffer, value: Buffer): void {
    this.keys.push(key);
    this.values.push(value);
  }

  private remove(key: Buffer): void {
    this.keys.push(key);
    this.values.push(null);
  }

  putMessage(msg: StoredMessage): void {
    this.put(messageKey(msg.id), encodeMessage(msg));
  }
  removeMessage(id: number): void {
    this.remove(messageKey(id));
  }
  putDelivery(d: StoredDelivery): void {
    this.put(deliveryKey(d.clientId, d.seq), encodeDelivery(d));
  }
  removeDelivery(clientId: string, seq: number): void {
    this.remove(deliveryKey(clientId, seq));
  }
  putIncoming(clientId: string, packetId: number): void {
    this.put(incomingKey(clientId, packetId), EMPTY);
  }
  removeIncoming(clientId: string, packetId: number): void {
    this.remove(incomingKey(clientId, packetId));
  }
  putSession(s: StoredSession): void {
    this.put(sessionKey(s.clientId), encodeSession(s));
  }
  removeSession(clientId: string): void {
    this.remove(sessionKey(clientId));
  }
  putRetained(msg: StoredMessage): void {
    this.put(retainedKey(msg.topic), encodeMessage(msg));
  }
  removeRetained(topic: string): void {
    this.remove(retainedKey(topic));
  }

  clear(): void {
    for (const key of this.db.getKeys({})) if (kindOf(key) !== 'version') this.remove(key);
  }

  async probe(): Promise<void> {
    // A full disk says so without a write (lmdb logs every failed one).
    const fs = statfsSync(this.dir);
    if (fs.bavail * fs.bsize < PROBE_FREE_BYTES) throw new Error(`no space left on the device of ${this.dir}`);
    const db = this.db;
    await db.transaction(() => db.putSync(KEY_VERSION, encodeVersion())).then(undefined, commitCause);
  }

  commit(): Promise<void> {
    const keys = this.keys;
    if (keys.length === 0) return this.tail;
    const values = this.values;
    this.keys = [];
    this.values = [];
    const db = this.db;
    // One transaction for the whole batch; one callback per commit, none per write.
    this.tail = db
      .transaction(() => {
        for (let i = 0; i < keys.length; i++) {
          const v = values[i]!;
          if (v === null) db.removeSync(keys[i]!);
          else db.putSync(keys[i]!, v);
        }
      })
      .then(() => undefined, commitCause);
    return this.tail;
  }

  async close(): Promise<void> {
    try {
      await this.commit();
    } finally {
      await this.db.close();
      this.lock.release();
    }
  }
}
