/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
 * and Jitter"), on top of the server's `retry:` advice, so that a restart does not bring every client
 * back in the same instant.
 * @module
 */

/** Bounds of the exponential part of the delay. */
export interface BackoffOptions {
  /** The ceiling of the first attempt's random share, in ms (default 1000). */
  baseMs: number;
  /** The largest random share, however many attempts failed (default 30000). */
  capMs: number;
}

/** The defaults: 1 s doubling per failed attempt up to 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 30_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first): the server's `retry:` floor plus a
 * uniformly random share of `min(cap, base * 2^attempt)`.
 */
export function reconnectDelay(
  attempt: number,
  floorMs: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, floorMs) + Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
