/**
 * A promise with its resolve and reject at hand, for the waits of pub's senders (room in flight,
 * a drained queue, a connection back). Rejected only when the sender stops for good; a caller
 * that had stopped waiting by then must not crash the process, so the rejection is handled here.
 */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
