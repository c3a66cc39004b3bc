/** What every listener is, whatever its transport. */
import type { AddressInfo } from 'node:net';

/** Where a listener's own errors (after it started) are reported. */
export type ListenerLog = (message: string) => void;

export interface Listener {
  readonly kind: 'tcp' | 'ws';
  readonly address: AddressInfo;
  close(): Promise<void>;
}
