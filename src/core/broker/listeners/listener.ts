/** What every listener is, whatever its transport. */
import type { AddressInfo } from 'node:net';
import type { ListenerKind } from './spec.js';

/** Where a listener's own messages (after it started: errors, refused connections) are reported. */
export type ListenerLog = (message: string) => void;

export interface Listener {
  readonly kind: ListenerKind;
  readonly name: string;
  readonly address: AddressInfo;
  readonly url: string;
  /** TLS listeners: re-reads the files with the start-up checks; new connections get them, open ones stay. Resolves with the error line when the files fail (the old ones stay in use). */
  reload?(): Promise<string | undefined>;
  close(): Promise<void>;
}
