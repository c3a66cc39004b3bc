/**
 * Live updates by polling: each task runs every `everyMs`, one call at a time (a slow
 * broker is never asked again before it answered). While the tab is hidden nothing runs;
 * on return every task runs at once. When the broker cannot be reached, every task stops
 * and one retry runs after a growing delay (1, 2, 4 … 15 s); the first answer brings them
 * all back. A 401 stops everything: the credentials are no longer good.
 */
import { AuthError, NetworkError } from './api.js';

const RETRY_MS = [1000, 2000, 4000, 8000, 15000];

/**
 * tasks: [{ name, everyMs, run: async () => void }]
 * handlers: { online(), offline({ error, retryAt }), authFailed(error), failed(task, error) }
 */
export function createPoller(tasks, handlers) {
  const due = new Map(tasks.map((t) => [t, 0]));
  let timer = null;
  let running = false;
  let stopped = true;
  let failures = 0;
  let retryAt = null;
  let live = false;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  async function tick() {
    timer = null;
    if (stopped || running || document.hidden) return;
    running = true;
    const now = Date.now();
    // Offline, the retry asks everything: it is one round, and all panels then come back together.
    const batch = tasks.filter((t) => retryAt !== null || due.get(t) <= now);
    const results = await Promise.allSettled(batch.map((t) => t.run()));
    running = false;
    if (stopped) return;
    const errors = results.map((r, i) => [batch[i], r.status === 'rejected' ? r.reason : null]).filter(([, e]) => e !== null);
    const auth = errors.find(([, e]) => e instanceof AuthError);
    if (auth !== undefined) {
      stop();
      handlers.authFailed(auth[1]);
      return;
    }
    const network = errors.find(([, e]) => e instanceof NetworkError);
    if (network !== undefined) {
      const delay = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
      failures++;
      retryAt = Date.now() + delay;
      live = false;
      handlers.offline({ error: network[1], retryAt });
      schedule(delay);
      return;
    }
    if (!live) {
      // The first answers, or the first after an outage.
      live = true;
      failures = 0;
      retryAt = null;
      handlers.online();
    }
    for (const [task, error] of errors) handlers.failed(task, error);
    const after = Date.now();
    for (const t of batch) due.set(t, after + t.everyMs);
    schedule(Math.max(50, Math.min(...tasks.map((t) => due.get(t))) - after));
  }

  function onVisibility() {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else if (!stopped) {
      for (const t of tasks) due.set(t, 0);
      schedule(0);
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    timer = null;
    document.removeEventListener('visibilitychange', onVisibility);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      failures = 0;
      retryAt = null;
      live = false;
      for (const t of tasks) due.set(t, 0);
      document.addEventListener('visibilitychange', onVisibility);
      schedule(0);
    },
    stop,
    /** Runs the named tasks now (after a disconnect, say), or everything when offline. */
    refresh(...names) {
      if (stopped) return;
      for (const t of tasks) if (names.length === 0 || names.includes(t.name)) due.set(t, 0);
      if (!running) schedule(0);
    },
    /** Retry at once (the banner's button). */
    retryNow() {
      if (stopped || running) return;
      schedule(0);
    },
  };
}
